// The virtualenv asgid is installed in. `pip install asgid` (docs/wheel.md) copies the binary
// to <venv>/bin/asgid, linked against the libpython of that venv's interpreter, so that venv
// is the one whose site-packages the app should see, with no --venv: as a console script's
// shebang ties it to its venv's python.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "config/settings.h"

namespace asgid::config {

// <venv> when `executable` is <venv>/bin/<name> and <venv>/pyvenv.cfg is a file; else empty.
// `executable` is taken as spelled (relative to the working directory if not absolute): no
// symlink is followed, so a venv reached through a symlinked directory keeps that name.
std::string venvHolding(const std::filesystem::path& executable);

// The venv holding this process's binary: the one holding argv[0] when it names a path (as
// typed: .venv/bin/asgid where .venv is a symlink), else the one holding /proc/self/exe (the
// real file: argv[0] looked up on $PATH, or a symlink to a venv's asgid). Empty when neither
// is in a venv (a .deb's /usr/bin/asgid). Looked up once per argv[0] in a process, before
// any --chdir.
std::string ownVenv(std::string_view argv0);

// Makes ownVenv() the venv unless a source names one: it overrides $VIRTUAL_ENV (set by
// applyFallbackDefaults() before) because this binary can only run its own venv's Python; the
// YAML file, ASGID_VENV and --venv, applied after, override it. --print-config shows it as
// "the venv of <binary>".
void applyOwnVenv(std::string_view argv0, Settings& settings);

}  // namespace asgid::config
