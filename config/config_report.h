// What --check-config and --print-config report about loaded Settings, and the notices for
// uvicorn flags that mean nothing to asgid. Pure functions of Settings (and, for the paths,
// the file system): main() decides where the text goes.
#pragma once

#include <string>
#include <vector>

#include "config/settings.h"

namespace asgid::config {

// One line per setting given a value other than its default whose row has a notice
// ("--loop (from --loop): asgid runs each worker on its own event loop ...").
std::vector<std::string> notices(const Settings& settings);

// Whether the process has already moved into --chdir (the master, before it serves) or not
// (--check-config): relative --app-dir and --venv are taken from there.
enum class PathBase { kBeforeChdir, kChdirApplied };

// The checks beyond the values themselves, cheap enough for ExecStartPre=: the directories the
// workers will use exist and this process may read them (--chdir, and --app-dir and --venv,
// which are relative to --chdir when it is given; --venv must hold a pyvenv.cfg). Run by
// --check-config, and by the master after its privilege drop, so that "permission denied"
// names the user the workers run as. One message per problem ("--venv: '/root/app/.venv'
// permission denied for user nobody"); empty when all is well.
std::vector<std::string> checkPaths(const Settings& settings,
                                    PathBase base = PathBase::kBeforeChdir);

// The effective settings as a YAML file that --config loads back to the same settings, one
// key per row, each with a trailing comment naming where its value came from ("default",
// "asgid.yaml:3", "ASGID_PORT", "--port", "WEB_CONCURRENCY"). Unset settings are written as
// comments. The env file's variables are listed by name only (they may be secrets).
std::string printConfig(const Settings& settings);

// A YAML scalar that reads back as `text`: plain when that is unambiguous, double-quoted
// otherwise.
std::string yamlScalar(const std::string& text);

}  // namespace asgid::config
