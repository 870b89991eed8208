// The table of every setting asgid has. It drives the command line, the YAML keys, the
// ASGID_* environment variables, validation and --help; the man pages are checked against it
// by a test. A setting's default is its initializer in Settings (settings.h).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/setting_spec.h"

namespace asgid::config {

const std::vector<SettingSpec>& settingsTable();

// The row whose YAML key is `name`, or nullptr.
const SettingSpec* findSetting(std::string_view name);

// --header NAME:VALUE. The name must be an RFC 9110 token; the value loses its surrounding
// whitespace and may not hold CR, LF or NUL (RFC 9110 section 5.5). Throws ValueError.
std::pair<std::string, std::string> parseHeader(std::string_view text);
std::string formatHeader(const std::pair<std::string, std::string>& header);

// APP must be module:attr. Throws ValueError.
void checkAppName(std::string_view text);

// --bind: HOST:PORT, [IPV6]:PORT (optionally [IPV6%ZONE]:PORT) or unix:PATH, with a port of
// 0..65535 and a path that fits sockaddr_un, optionally after kProxyBindPrefix (the listener
// expects the PROXY protocol). Returns the text as given; the master resolves it when it
// binds. Throws ValueError.
std::string parseBindAddress(std::string_view text);
inline constexpr std::string_view kProxyBindPrefix = "proxy:";

// A Unix socket path must fit in sockaddr_un. Throws ValueError.
void checkSocketPath(std::string_view text);

}  // namespace asgid::config
