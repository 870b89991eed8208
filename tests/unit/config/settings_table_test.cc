#include "config/settings_table.h"

#include <gtest/gtest.h>

#include <cctype>

#include <set>
#include <string>
#include <vector>

namespace asgid::config {
namespace {

const SettingSpec& row(std::string_view name) {
  const SettingSpec* spec = findSetting(name);
  if (spec == nullptr) throw std::logic_error("no row " + std::string(name));
  return *spec;
}

// Applies one textual value through the row, as every source does.
Settings with(std::string_view name, std::string_view text) {
  Settings settings;
  row(name).assign(settings, text);
  return settings;
}

std::string errorOf(std::string_view name, std::string_view text) {
  try {
    with(name, text);
  } catch (const ValueError& e) {
    return e.what();
  }
  return "no error";
}

TEST(SettingsTableTest, NamesFlagsAndVariablesAreUniqueAndWellFormed) {
  std::set<std::string> names, flags, envs;
  for (const SettingSpec& spec : settingsTable()) {
    SCOPED_TRACE(spec.name);
    EXPECT_TRUE(names.insert(spec.name).second);
    EXPECT_TRUE(flags.insert(spec.flag).second);
    EXPECT_TRUE(envs.insert(spec.env).second);
    EXPECT_EQ(spec.name.find_first_not_of("abcdefghijklmnopqrstuvwxyz_0123456789"),
              std::string::npos);
    EXPECT_TRUE(std::islower(static_cast<unsigned char>(spec.name[0])));
    EXPECT_TRUE(spec.isPositional() || spec.flag.starts_with("--"));
    EXPECT_TRUE(spec.negative_flag.empty() || spec.kind == SettingKind::kSwitch);
    EXPECT_FALSE(spec.help.empty());
    EXPECT_TRUE(spec.assign && spec.show);
    EXPECT_EQ(spec.kind == SettingKind::kList, static_cast<bool>(spec.clear));
  }
  EXPECT_EQ(row("port").env, "ASGID_PORT");
  EXPECT_EQ(row("timeout_keep_alive").env, "ASGID_TIMEOUT_KEEP_ALIVE");
}

TEST(SettingsTableTest, EveryRowShowsItsDefault) {
  Settings defaults;
  EXPECT_EQ(row("port").show(defaults), "8000");
  EXPECT_EQ(row("host").show(defaults), "127.0.0.1");
  EXPECT_EQ(row("timeout_keep_alive").show(defaults), "5");
  EXPECT_EQ(row("timeout_request_header").show(defaults), "10");
  EXPECT_EQ(row("timeout_graceful_shutdown").show(defaults), "30");
  EXPECT_EQ(row("lifespan").show(defaults), "auto");
  EXPECT_EQ(row("log_level").show(defaults), "info");
  EXPECT_EQ(row("access_log").show(defaults), "true");
  EXPECT_EQ(row("headers").show(defaults), "none");
  EXPECT_EQ(row("venv").fallback_env, "VIRTUAL_ENV");
  EXPECT_EQ(row("workers").show(defaults), "1");
  EXPECT_EQ(row("workers").fallback_env, "WEB_CONCURRENCY");
  EXPECT_EQ(row("bind").show(defaults), "none");
  EXPECT_EQ(row("fds").show(defaults), "none");
  EXPECT_EQ(row("uds_perms").show(defaults), "");  // --help says "none"
  EXPECT_EQ(row("umask").show(defaults), "");
  EXPECT_EQ(row("reuse_port").show(defaults), "false");
  EXPECT_EQ(row("preload").show(defaults), "false");
  EXPECT_EQ(row("timeout_worker_healthcheck").show(defaults), "30");
  EXPECT_EQ(row("timeout_worker_boot").show(defaults), "60");
  EXPECT_EQ(row("limit_max_requests").show(defaults), "0");
  EXPECT_EQ(row("limit_max_requests_jitter").show(defaults), "0");
  EXPECT_EQ(row("max_worker_lifetime").show(defaults), "0");
  EXPECT_EQ(row("max_worker_memory").show(defaults), "0");
  EXPECT_EQ(row("pid_file").show(defaults), "");
  EXPECT_EQ(row("pid_file").flag, "--pid");
  EXPECT_EQ(row("pid_file").env, "ASGID_PID_FILE");
  EXPECT_EQ(row("fds").flag, "--fd");
  EXPECT_EQ(row("fds").env, "ASGID_FDS");
}

TEST(SettingsTableTest, StringRows) {
  EXPECT_EQ(with("host", "0.0.0.0").host, "0.0.0.0");
  EXPECT_EQ(with("app_dir", "/srv/app").app_dir, "/srv/app");
  EXPECT_EQ(with("root_path", "/api").root_path, "/api");
  EXPECT_EQ(with("uds", "/run/asgid.sock").uds, "/run/asgid.sock");
  EXPECT_EQ(with("venv", "/srv/venv").venv, "/srv/venv");
  EXPECT_EQ(with("app", "pkg.mod:make.app").app, "pkg.mod:make.app");
  EXPECT_EQ(errorOf("host", ""), "may not be empty");
}

TEST(SettingsTableTest, AppMustBeModuleColonAttr) {
  EXPECT_EQ(errorOf("app", "main"), "'main' is not module:attr (for example main:app)");
  EXPECT_EQ(errorOf("app", ":app"), "':app' is not module:attr (for example main:app)");
  EXPECT_EQ(errorOf("app", "main:"), "'main:' is not module:attr (for example main:app)");
}

TEST(SettingsTableTest, SocketPathMustFitSockaddrUn) {
  EXPECT_EQ(with("uds", std::string(107, 'a')).uds.size(), 107u);
  EXPECT_EQ(errorOf("uds", std::string(108, 'a')).substr(111),
            "is longer than 107 bytes, the most a Unix socket path can have");
}

TEST(SettingsTableTest, IntegerRowsAndBounds) {
  EXPECT_EQ(with("port", "0").port, 0);
  EXPECT_EQ(with("port", "65535").port, 65535);
  EXPECT_EQ(errorOf("port", "65536"), "65536 is out of range 0..65535");
  EXPECT_EQ(with("backlog", "1").backlog, 1);
  EXPECT_EQ(errorOf("backlog", "0"), "0 is out of range 1..65535");
  EXPECT_EQ(errorOf("backlog", "65536"), "65536 is out of range 1..65535");
  EXPECT_EQ(with("limit_concurrency", "0").limit_concurrency, 0);
  EXPECT_EQ(errorOf("limit_concurrency", "-1"), "-1 is out of range (must be >= 0)");
  for (const char* name : {"limit_request_line", "limit_request_fields", "limit_request_field_size",
                           "limit_request_headers_size"}) {
    SCOPED_TRACE(name);
    EXPECT_EQ(errorOf(name, "0"), "0 is out of range (must be >= 1)");
  }
  EXPECT_EQ(with("limit_request_line", "4096").limit_request_line, 4096);
  EXPECT_EQ(with("limit_request_fields", "50").limit_request_fields, 50);
  EXPECT_EQ(with("limit_request_field_size", "1").limit_request_field_size, 1);
  EXPECT_EQ(with("limit_request_headers_size", "9").limit_request_headers_size, 9);
}

TEST(SettingsTableTest, SecondsRowsMustBePositive) {
  EXPECT_DOUBLE_EQ(with("timeout_keep_alive", "0.5").timeout_keep_alive, 0.5);
  EXPECT_DOUBLE_EQ(with("timeout_request_header", "2").timeout_request_header, 2.0);
  EXPECT_DOUBLE_EQ(with("timeout_graceful_shutdown", "60").timeout_graceful_shutdown, 60.0);
  for (const char* name :
       {"timeout_keep_alive", "timeout_request_header", "timeout_graceful_shutdown"}) {
    SCOPED_TRACE(name);
    EXPECT_EQ(errorOf(name, "0"), "0 is out of range (must be > 0 and <= 86400)");
    EXPECT_EQ(errorOf(name, "-1"), "-1 is out of range (must be > 0 and <= 86400)");
  }
}

TEST(SettingsTableTest, EnumRows) {
  EXPECT_EQ(with("lifespan", "on").lifespan, Lifespan::kOn);
  EXPECT_EQ(with("lifespan", "off").lifespan, Lifespan::kOff);
  EXPECT_EQ(with("log_level", "trace").log_level, LogLevel::kTrace);
  EXPECT_EQ(with("log_level", "warning").log_level, LogLevel::kWarning);
  EXPECT_EQ(with("log_level", "critical").log_level, LogLevel::kCritical);
  EXPECT_EQ(errorOf("log_level", "warn"),
            "'warn' is not one of trace, debug, info, warning, error, critical");
  EXPECT_EQ(row("lifespan").metavar, "auto|on|off");
}

TEST(SettingsTableTest, SwitchRows) {
  EXPECT_FALSE(with("access_log", "false").access_log);
  EXPECT_TRUE(with("factory", "true").factory);
  EXPECT_FALSE(with("server_header", "no").server_header);
  EXPECT_FALSE(with("date_header", "off").date_header);
  EXPECT_EQ(row("access_log").flag, "--access-log");
  EXPECT_EQ(row("access_log").negative_flag, "--no-access-log");
  EXPECT_EQ(row("factory").negative_flag, "");
  EXPECT_EQ(errorOf("access_log", "maybe"), "'maybe' is not a boolean (use true or false)");
}

TEST(SettingsTableTest, HeaderListAppendsAndClears) {
  Settings settings;
  const SettingSpec& headers = row("headers");
  EXPECT_EQ(headers.kind, SettingKind::kList);
  EXPECT_EQ(headers.flag, "--header");
  headers.assign(settings, "X-Frame-Options: DENY");
  headers.assign(settings, "x-empty:");
  ASSERT_EQ(settings.headers.size(), 2u);
  EXPECT_EQ(settings.headers[0],
            std::make_pair(std::string("X-Frame-Options"), std::string("DENY")));
  EXPECT_EQ(settings.headers[1].second, "");
  EXPECT_EQ(headers.show(settings), "X-Frame-Options: DENY, x-empty: ");
  headers.clear(settings);
  EXPECT_TRUE(settings.headers.empty());
}

TEST(SettingsTableTest, HeaderParsing) {
  EXPECT_EQ(parseHeader("a:b"), std::make_pair(std::string("a"), std::string("b")));
  EXPECT_EQ(parseHeader("a: \t b, c:d \t").second, "b, c:d");
  EXPECT_EQ(errorOf("headers", "x-a"), "'x-a' is not NAME:VALUE (no ':')");
  EXPECT_EQ(errorOf("headers", ": b"), "'' is not a valid header name");
  EXPECT_EQ(errorOf("headers", "x a: b"), "'x a' is not a valid header name");
  EXPECT_EQ(errorOf("headers", "x-a: b\r\nx-b: c"),
            "'x-a: b\\x0d\\x0ax-b: c' contains CR, LF or NUL");
  EXPECT_EQ(errorOf("headers", "x-a: b\n"), "'x-a: b\\x0a' contains CR, LF or NUL");
  EXPECT_EQ(errorOf("headers", std::string("x-a: b\0c", 8)),
            "'x-a: b\\x00c' contains CR, LF or NUL");
}

TEST(SettingsTableTest, BindAddresses) {
  for (const char* text : {"0.0.0.0:8000", "localhost:0", "example.com:65535", "[::]:80",
                           "[::1]:8000", "[fe80::1%eth0]:80", "[::ffff:10.0.0.1]:1",
                           "unix:/run/asgid.sock", "unix:relative.sock", "unix:@abstract"}) {
    SCOPED_TRACE(text);
    EXPECT_EQ(parseBindAddress(text), text);
  }
  EXPECT_EQ(errorOf("bind", "localhost"), "'localhost' is not HOST:PORT, [IPV6]:PORT or unix:PATH");
  EXPECT_EQ(errorOf("bind", "h:65536"), "'h:65536': port 65536 is out of range 0..65535");
  EXPECT_EQ(errorOf("bind", "h:-1"), "'h:-1': port -1 is out of range 0..65535");
  EXPECT_EQ(errorOf("bind", "h:http"), "'h:http': port 'http' is not an integer");
  EXPECT_EQ(errorOf("bind", "h:"), "'h:': port '' is not an integer");
  EXPECT_EQ(errorOf("bind", ":80"), "':80' has no host (0.0.0.0:PORT listens on every interface)");
  EXPECT_EQ(errorOf("bind", "::1:80"),
            "'::1:80': an IPv6 address needs brackets, as in [::1]:8000");
  EXPECT_EQ(errorOf("bind", "[::1:80"), "'[::1:80' is not [IPV6]:PORT");
  EXPECT_EQ(errorOf("bind", "[::1]"), "'[::1]' is not [IPV6]:PORT");
  EXPECT_EQ(errorOf("bind", "[::1]80"), "'[::1]80' is not [IPV6]:PORT");
  EXPECT_EQ(errorOf("bind", "[::1]:"), "'[::1]:': port '' is not an integer");
  EXPECT_EQ(errorOf("bind", "[fe80::1%eth0]:x"), "'[fe80::1%eth0]:x': port 'x' is not an integer");
  EXPECT_EQ(errorOf("bind", "[nope]:80"), "'[nope]:80': 'nope' is not an IPv6 address");
  EXPECT_EQ(errorOf("bind", "[]:80"), "'[]:80': '' is not an IPv6 address");
  EXPECT_EQ(errorOf("bind", "a b:80"), "'a b:80': 'a b' is not a host name or address");
  EXPECT_EQ(errorOf("bind", "unix:"), "'unix:' has no path after 'unix:'");
  EXPECT_EQ(errorOf("bind", "unix:" + std::string(108, 'a')).substr(111),
            "is longer than 107 bytes, the most a Unix socket path can have");
}

TEST(SettingsTableTest, BindAndFdListsAppendAndShow) {
  Settings settings;
  row("bind").assign(settings, "[::]:80");
  row("bind").assign(settings, "unix:/run/a.sock");
  EXPECT_EQ(settings.bind, (std::vector<std::string>{"[::]:80", "unix:/run/a.sock"}));
  EXPECT_EQ(row("bind").show(settings), "[::]:80, unix:/run/a.sock");
  row("fds").assign(settings, "3");
  row("fds").assign(settings, "0");
  EXPECT_EQ(settings.fds, (std::vector<int>{3, 0}));
  EXPECT_EQ(row("fds").show(settings), "3, 0");
  EXPECT_EQ(errorOf("fds", "-1"), "-1 is out of range (must be >= 0)");
  EXPECT_EQ(errorOf("fds", "three"), "'three' is not an integer");
  row("fds").clear(settings);
  EXPECT_TRUE(settings.fds.empty());
}

TEST(SettingsTableTest, OctalRows) {
  for (const char* name : {"uds_perms", "umask"}) {
    SCOPED_TRACE(name);
    EXPECT_EQ(row(name).metavar, "MODE");
    EXPECT_EQ(row(name).bounds, "0..0777");
    EXPECT_EQ(row(name).show(with(name, "660")), "0660");
    EXPECT_EQ(row(name).show(with(name, "0o22")), "0022");
    EXPECT_EQ(errorOf(name, "999"), "'999' is not an octal mode (for example 0660)");
    EXPECT_EQ(errorOf(name, "01000"), "01000 is out of range 0..0777");
  }
  EXPECT_EQ(with("uds_perms", "0660").uds_perms, 0660);
  EXPECT_EQ(with("umask", "027").umask, 027);
}

}  // namespace
}  // namespace asgid::config
