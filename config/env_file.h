// --env-file: a dotenv file whose variables the app finds in os.environ, read the way
// python-dotenv's load_dotenv() reads it (what uvicorn's --env-file calls), so a file that
// works under uvicorn works here.
//
// Principle: parsing and resolving are two steps. parseEnvFile() turns text into bindings
// (name, raw value, how it was quoted, line) and knows nothing of the environment;
// resolveEnvFile() expands ${VAR} and applies load_dotenv's precedence: a variable already in
// the environment is never overridden, and ${VAR} reads the environment before the file's
// earlier lines. A reload reads the file again into a new Settings.
//
// Syntax (one binding per line; blank lines and lines starting with '#' are skipped):
//   KEY=value            unquoted: surrounding blanks and a " #comment" are dropped
//   export KEY=value     the export prefix is ignored
//   KEY='value'          literal: only \\ and \' are escapes; no ${VAR} expansion
//   KEY="value"          \n \t \r \" \\ \' \a \b \f \v are escapes; may span lines
//   KEY=${A}/x, ${B:-d}  expansion in unquoted and double-quoted values
//   KEY                  no '=': a name without a value, which sets nothing
// Anything else (text after a closing quote, an unterminated quote, a line without a key) is
// an error naming file:line; python-dotenv only warns and skips such a line, but a server
// should not start with half its configuration.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/settings.h"

namespace asgid::config {

enum class EnvQuoting { kNone, kSingle, kDouble };

struct EnvBinding {
  std::string name;
  std::optional<std::string> value;  // escapes decoded, not yet expanded; nullopt: "KEY" alone
  EnvQuoting quoting = EnvQuoting::kNone;
  int line = 0;  // where the binding starts, from 1
};

// Parses dotenv text. `path` is only for messages. Throws ConfigError holding one message
// ("path:line: ...") per malformed line.
std::vector<EnvBinding> parseEnvFile(std::string_view text, const std::string& path);

// The variables to set for the app: expanded, without names the environment already has, the
// last binding of a name winning. In file order.
std::vector<EnvVariable> resolveEnvFile(const std::vector<EnvBinding>& bindings,
                                        const EnvLookup& env);

// Reads, parses and resolves the file. Throws ConfigError (unreadable file, bad lines).
std::vector<EnvVariable> loadEnvFile(const std::string& path, const EnvLookup& env);

}  // namespace asgid::config
