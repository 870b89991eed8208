// helpText(): --help, generated from the settings table so it cannot disagree with it.
#include <string>
#include <vector>

#include "config/settings_table.h"

namespace asgid::config {
namespace {

constexpr size_t kWidth = 80;
constexpr size_t kTermWidth = 32;  // the option column, two spaces of indent included

const char kIntroduction[] =
    "Usage: asgid [OPTIONS] APP\n"
    "\n"
    "Serves the ASGI application APP over HTTP/1.1 and WebSocket.\n"
    "\n"
    "Each source of settings overrides the one before: defaults, the YAML file\n"
    "(--config or ASGID_CONFIG, see asgid.yaml(5)), ASGID_* environment variables,\n"
    "the command line.\n";

// One option: the term ("--port INTEGER") and the words of its description, where a
// bracketed note ("[env: ASGID_PORT]") is one word so that wrapping never splits it.
struct HelpEntry {
  std::string term;
  std::vector<std::string> words;
};

std::vector<std::string> splitWords(std::string_view text) {
  std::vector<std::string> words;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find(' ', start);
    if (end == std::string_view::npos) end = text.size();
    if (end > start) words.emplace_back(text.substr(start, end - start));
    start = end + 1;
  }
  return words;
}

std::string defaultText(const SettingSpec& spec) {
  std::string value = spec.show(Settings{});
  if (spec.fallback_env.empty()) return value.empty() ? "none" : value;
  std::string fallback = "$" + spec.fallback_env;
  return value.empty() ? fallback : fallback + " or " + value;
}

HelpEntry entryFor(const SettingSpec& spec) {
  HelpEntry entry{spec.flag, splitWords(spec.help)};
  if (!spec.negative_flag.empty()) entry.term += ", " + spec.negative_flag;
  if (!spec.metavar.empty() && !spec.isPositional()) entry.term += " " + spec.metavar;
  if (!spec.isPositional()) entry.words.push_back("[default: " + defaultText(spec) + "]");
  if (!spec.bounds.empty()) entry.words.push_back("[range: " + spec.bounds + "]");
  entry.words.push_back("[env: " + spec.env + "]");
  return entry;
}

void appendEntry(const HelpEntry& entry, std::string& out) {
  std::string line = "  " + entry.term;
  auto breakLine = [&] {
    out += line + "\n";
    line.assign(kTermWidth, ' ');
  };
  if (line.size() + 2 > kTermWidth) breakLine();  // the columns need two spaces between them
  line.resize(kTermWidth, ' ');
  for (const std::string& word : entry.words) {
    bool line_empty = line.size() == kTermWidth;
    if (!line_empty && line.size() + 1 + word.size() > kWidth) breakLine();
    line += (line.size() == kTermWidth ? "" : " ") + word;
  }
  out += line + "\n";
}

}  // namespace

std::string helpText() {
  std::string out = std::string(kIntroduction) + "\nArguments:\n";
  for (const SettingSpec& spec : settingsTable()) {
    if (spec.isPositional()) appendEntry(entryFor(spec), out);
  }
  out += "\nOptions:\n";
  for (const SettingSpec& spec : settingsTable()) {
    if (!spec.isPositional()) appendEntry(entryFor(spec), out);
  }
  HelpEntry config{"--config FILE", splitWords("Read settings from this YAML file.")};
  config.words.push_back("[env: ASGID_CONFIG]");
  appendEntry(config, out);
  appendEntry({"--check-config",
               splitWords("Check the settings (command line, YAML file, environment, env file, "
                          "directories) and exit: prints ok, or every error found (exit 1).")},
              out);
  appendEntry({"--print-config",
               splitWords("Print the effective settings as YAML, each with where it came from, "
                          "and exit.")},
              out);
  appendEntry({"--version", splitWords("Print the version and exit.")}, out);
  appendEntry({"-h, --help", splitWords("Print this help and exit.")}, out);
  return out;
}

}  // namespace asgid::config
