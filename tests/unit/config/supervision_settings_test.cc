// The master's settings (workers, listeners, recycling, privileges) through load(): each row's
// default, a good and a bad value from the command line, the YAML file and the environment,
// and WEB_CONCURRENCY as the default for --workers.
#include <string>
#include <vector>

#include "config/settings_table.h"
#include "tests/unit/config/load_fixture.h"

namespace asgid::config {
namespace {

using SupervisionSettingsTest = LoadFixture;

// A value row: a good value and how the row shows it, a bad value and the error's text after
// the source's prefix.
struct ValueCase {
  std::string name;
  std::string good;
  std::string shown;
  std::string bad;
  std::string error;
};

const std::vector<ValueCase>& valueCases() {
  static const std::vector<ValueCase> cases = {
      {"workers", "4", "4", "513", "513 is out of range 1..512"},
      {"uds_perms", "0660", "0660", "1000", "1000 is out of range 0..0777"},
      {"timeout_worker_healthcheck", "5.5", "5.5", "0",
       "0 is out of range (must be > 0 and <= 86400)"},
      {"timeout_worker_boot", "120", "120", "-1", "-1 is out of range (must be > 0 and <= 86400)"},
      {"limit_max_requests", "1000", "1000", "-1", "-1 is out of range (must be >= 0)"},
      {"limit_max_requests_jitter", "50", "50", "-1", "-1 is out of range (must be >= 0)"},
      {"max_worker_lifetime", "3600", "3600", "-1",
       "-1 is out of range (must be >= 0 and <= 31536000)"},
      {"max_worker_memory", "512", "512", "-1", "-1 is out of range (must be >= 0)"},
      {"umask", "027", "0027", "999", "'999' is not an octal mode (for example 0660)"},
  };
  return cases;
}

const SettingSpec& row(const std::string& name) {
  const SettingSpec* spec = findSetting(name);
  if (spec == nullptr) throw std::logic_error("no row " + name);
  return *spec;
}

TEST_F(SupervisionSettingsTest, Defaults) {
  Settings s = run({});
  EXPECT_EQ(s.workers, 1);
  EXPECT_TRUE(s.bind.empty());
  EXPECT_TRUE(s.fds.empty());
  EXPECT_EQ(s.uds_perms, -1);
  EXPECT_FALSE(s.reuse_port);
  EXPECT_FALSE(s.preload);
  EXPECT_DOUBLE_EQ(s.timeout_worker_healthcheck, 30.0);
  EXPECT_DOUBLE_EQ(s.timeout_worker_boot, 60.0);
  EXPECT_EQ(s.limit_max_requests, 0);
  EXPECT_EQ(s.limit_max_requests_jitter, 0);
  EXPECT_DOUBLE_EQ(s.max_worker_lifetime, 0.0);
  EXPECT_EQ(s.max_worker_memory, 0);
  EXPECT_EQ(s.pid_file, "");
  EXPECT_EQ(s.user, "");
  EXPECT_EQ(s.group, "");
  EXPECT_EQ(s.umask, -1);
  EXPECT_EQ(s.chdir, "");
}

TEST_F(SupervisionSettingsTest, ValueRowsFromTheCommandLine) {
  for (const ValueCase& c : valueCases()) {
    SCOPED_TRACE(c.name);
    const SettingSpec& spec = row(c.name);
    EXPECT_EQ(spec.show(run({spec.flag, c.good})), c.shown);
    EXPECT_EQ(errorOf({spec.flag, c.bad}), spec.flag + ": " + c.error);
  }
}

TEST_F(SupervisionSettingsTest, ValueRowsFromYaml) {
  for (const ValueCase& c : valueCases()) {
    SCOPED_TRACE(c.name);
    const SettingSpec& spec = row(c.name);
    EXPECT_EQ(spec.show(run({"--config", writeConfig(c.name + ": " + c.good + "\n")})), c.shown);
    std::string config = writeConfig(c.name + ": " + c.bad + "\n");
    std::string column = std::to_string(c.name.size() + 3);
    EXPECT_EQ(errorOf({"--config", config}),
              config + ":2:" + column + ": " + c.name + ": " + c.error);
  }
}

TEST_F(SupervisionSettingsTest, ValueRowsFromTheEnvironment) {
  for (const ValueCase& c : valueCases()) {
    SCOPED_TRACE(c.name);
    const SettingSpec& spec = row(c.name);
    env_ = {{spec.env, c.good}};
    EXPECT_EQ(spec.show(run({})), c.shown);
    env_ = {{spec.env, c.bad}};
    EXPECT_EQ(errorOf({}), spec.env + ": " + c.error);
  }
}

TEST_F(SupervisionSettingsTest, StringRows) {
  Settings s = run({"--pid", "/run/asgid.pid", "--user", "www-data", "--group", "www-data",
                    "--chdir", "/srv/app"});
  EXPECT_EQ(s.pid_file, "/run/asgid.pid");
  EXPECT_EQ(s.user, "www-data");
  EXPECT_EQ(s.group, "www-data");
  EXPECT_EQ(s.chdir, "/srv/app");
  s = run(
      {"--config", writeConfig("pid_file: /run/a.pid\nuser: '1000'\ngroup: staff\nchdir: /tmp\n")});
  EXPECT_EQ(s.pid_file, "/run/a.pid");
  EXPECT_EQ(s.user, "1000");
  EXPECT_EQ(s.group, "staff");
  EXPECT_EQ(s.chdir, "/tmp");
  env_ = {{"ASGID_PID_FILE", "/run/env.pid"}, {"ASGID_USER", "nobody"}};
  s = run({});
  EXPECT_EQ(s.pid_file, "/run/env.pid");
  EXPECT_EQ(s.user, "nobody");
}

TEST_F(SupervisionSettingsTest, Switches) {
  EXPECT_TRUE(run({"--reuse-port"}).reuse_port);
  EXPECT_FALSE(run({"--reuse-port", "--no-reuse-port"}).reuse_port);
  EXPECT_TRUE(run({"--preload"}).preload);
  EXPECT_FALSE(run({"--preload", "--no-preload"}).preload);
  Settings s = run({"--config", writeConfig("reuse_port: true\npreload: yes\n")});
  EXPECT_TRUE(s.reuse_port);
  EXPECT_TRUE(s.preload);
  EXPECT_FALSE(run({"--config", writeConfig("preload: yes\n"), "--no-preload"}).preload);
  EXPECT_EQ(errorOf({"--preload=1"}), "--preload takes no value");
  std::string config = writeConfig("reuse_port: sometimes\n");
  EXPECT_EQ(errorOf({"--config", config}),
            config + ":2:13: reuse_port: 'sometimes' is not a boolean (use true or false)");
}

TEST_F(SupervisionSettingsTest, OctalSpellings) {
  EXPECT_EQ(run({"--uds-perms", "0660"}).uds_perms, 0660);
  EXPECT_EQ(run({"--uds-perms", "660"}).uds_perms, 0660);
  EXPECT_EQ(run({"--uds-perms", "0o660"}).uds_perms, 0660);
  EXPECT_EQ(errorOf({"--uds-perms", "999"}),
            "--uds-perms: '999' is not an octal mode (for example 0660)");
  // YAML 1.1 would read an unquoted 0660 as the integer 432; asgid reads the text as written.
  EXPECT_EQ(run({"--config", writeConfig("uds_perms: 0660\numask: 0o22\n")}).uds_perms, 0660);
  EXPECT_EQ(run({"--config", writeConfig("umask: 0o22\n")}).umask, 022);
  EXPECT_EQ(run({"--config", writeConfig("umask: '077'\n")}).umask, 077);
}

TEST_F(SupervisionSettingsTest, BindIsRepeatable) {
  Settings s = run({"--bind", "0.0.0.0:80", "--bind", "[::]:80", "--bind", "unix:/run/a.sock"});
  EXPECT_EQ(s.bind, (std::vector<std::string>{"0.0.0.0:80", "[::]:80", "unix:/run/a.sock"}));
  std::string config = writeConfig("bind:\n  - 127.0.0.1:8000\n  - '[::1]:8000'\n");
  EXPECT_EQ(run({"--config", config}).bind,
            (std::vector<std::string>{"127.0.0.1:8000", "[::1]:8000"}));
  EXPECT_EQ(run({"--config", config, "--bind", "unix:x"}).bind,
            (std::vector<std::string>{"unix:x"}));  // the command line replaces the file's list
  env_ = {{"ASGID_BIND", "a:1\nb:2"}};
  EXPECT_EQ(run({}).bind, (std::vector<std::string>{"a:1", "b:2"}));
  env_.clear();
  EXPECT_EQ(errorOf({"--bind", "h:70000"}),
            "--bind: 'h:70000': port 70000 is out of range 0..65535");
  config = writeConfig("bind:\n  - a:1\n  - '::1:80'\n");
  EXPECT_EQ(errorOf({"--config", config}),
            config + ":4:5: bind: '::1:80': an IPv6 address needs brackets, as in [::1]:8000");
  // --bind overrides --host, --port and --uds without making them an error.
  s = run({"--bind", "[::]:80", "--port", "9000", "--uds", "/run/b.sock"});
  EXPECT_EQ(s.bind, (std::vector<std::string>{"[::]:80"}));
  EXPECT_EQ(s.port, 9000);
}

TEST_F(SupervisionSettingsTest, FdIsRepeatable) {
  EXPECT_EQ(run({"--fd", "3", "--fd", "4"}).fds, (std::vector<int>{3, 4}));
  EXPECT_EQ(run({"--config", writeConfig("fds: [3, 5]\n")}).fds, (std::vector<int>{3, 5}));
  env_ = {{"ASGID_FDS", "6\n7"}};
  EXPECT_EQ(run({}).fds, (std::vector<int>{6, 7}));
  env_.clear();
  EXPECT_EQ(errorOf({"--fd", "-1"}), "--fd: -1 is out of range (must be >= 0)");
  std::string config = writeConfig("fds: [3, x]\n");
  EXPECT_EQ(errorOf({"--config", config}), config + ":2:10: fds: 'x' is not an integer");
}

TEST_F(SupervisionSettingsTest, WebConcurrencyIsTheWorkersDefault) {
  env_ = {{"WEB_CONCURRENCY", "3"}};
  EXPECT_EQ(run({}).workers, 3);
  EXPECT_EQ(run({"--workers", "7"}).workers, 7);
  EXPECT_EQ(run({"--config", writeConfig("workers: 2\n")}).workers, 2);
  env_["ASGID_WORKERS"] = "5";
  EXPECT_EQ(run({}).workers, 5);
  EXPECT_EQ(run({"--workers", "7"}).workers, 7);
  env_ = {{"WEB_CONCURRENCY", ""}};
  EXPECT_EQ(run({}).workers, 1);  // empty counts as unset
  env_ = {{"WEB_CONCURRENCY", "0"}};
  EXPECT_EQ(errorOf({}), "WEB_CONCURRENCY: 0 is out of range 1..512");
  // Read before the other sources, like VIRTUAL_ENV: a bad value fails even beside --workers.
  EXPECT_EQ(errorOf({"--workers", "2"}), "WEB_CONCURRENCY: 0 is out of range 1..512");
}

TEST_F(SupervisionSettingsTest, HelpShowsTheNewDefaults) {
  std::string help = helpText();
  EXPECT_NE(help.find("[default: $WEB_CONCURRENCY or 1] [range: 1..512]"), std::string::npos);
  EXPECT_NE(help.find("--uds-perms MODE"), std::string::npos);
  EXPECT_NE(help.find("[default: none] [range: 0..0777]"), std::string::npos);
  EXPECT_NE(help.find("--bind ADDRESS"), std::string::npos);
  EXPECT_NE(help.find("--reuse-port, --no-reuse-port"), std::string::npos);
  EXPECT_NE(help.find("--pid FILE"), std::string::npos);
}

}  // namespace
}  // namespace asgid::config
