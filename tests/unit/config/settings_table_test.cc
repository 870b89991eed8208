#include "config/settings_table.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

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
    EXPECT_EQ(spec.name.find_first_not_of("abcdefghijklmnopqrstuvwxyz_"), std::string::npos);
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

}  // namespace
}  // namespace asgid::config
