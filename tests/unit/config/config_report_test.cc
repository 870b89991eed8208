// --check-config (every error at once), --print-config (YAML that loads back, with sources),
// --env-file through load(), and uvicorn's flags that asgid accepts with a notice.
#include "config/config_report.h"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "config/settings_table.h"
#include "tests/unit/config/load_fixture.h"

namespace asgid::config {
namespace {

class ConfigReportTest : public LoadFixture {
 protected:
  // load() for "asgid ARGS..." (no APP added), with env_ as the environment.
  LoadResult loadArgs(std::vector<std::string> args) {
    std::vector<const char*> argv = {"asgid"};
    for (const std::string& arg : args) argv.push_back(arg.c_str());
    EnvLookup env = [this](const std::string& name) -> std::optional<std::string> {
      auto found = env_.find(name);
      if (found == env_.end()) return std::nullopt;
      return found->second;
    };
    std::ostringstream out;
    return load(static_cast<int>(argv.size()), argv.data(), env, out);
  }

  std::string writeFile(const std::string& name, const std::string& text) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    return path;
  }
};

TEST_F(ConfigReportTest, CheckConfigOkHasNoErrors) {
  LoadResult result = loadArgs({"--check-config", "main:app", "--port", "9000"});
  EXPECT_EQ(result.action, Action::kCheckConfig);
  EXPECT_TRUE(result.errors.empty());
  EXPECT_EQ(result.settings.port, 9000);
}

TEST_F(ConfigReportTest, CheckConfigCollectsErrorsOfEverySource) {
  std::string config = writeFile("bad.yaml",
                                 "app: main:app\n"
                                 "prot: 1\n"
                                 "backlog: zero\n"
                                 "headers: [\"no colon\", \"X-A: ok\", \"bad name: x\"]\n");
  env_["ASGID_WORKERS"] = "0";
  LoadResult result =
      loadArgs({"--check-config", "--config", config, "--port", "abc", "--timeout-send", "-1"});
  EXPECT_EQ(result.action, Action::kCheckConfig);
  std::vector<std::string> expected = {
      config + ":2:1: unknown key 'prot' (did you mean 'port'?)",
      config + ":3:10: backlog: 'zero' is not an integer",
      config + ":4:11: headers: 'no colon' is not NAME:VALUE (no ':')",
      config + ":4:34: headers: 'bad name' is not a valid header name",
      "ASGID_WORKERS: 0 is out of range 1..512",
      "--port: 'abc' is not an integer",
      "--timeout-send: -1 is out of range (must be > 0 and <= 86400)",
  };
  EXPECT_EQ(result.errors, expected);
}

TEST_F(ConfigReportTest, CheckConfigReportsEveryUnknownOption) {
  LoadResult result = loadArgs({"--check-config", "main:app", "--prot", "1", "--wrokers", "2"});
  ASSERT_EQ(result.errors.size(), 2u);
  EXPECT_EQ(result.errors[0], "unknown option '--prot' (did you mean '--port'?)");
  EXPECT_EQ(result.errors[1], "unknown option '--wrokers' (did you mean '--workers'?)");
}

TEST_F(ConfigReportTest, CheckConfigReportsMissingAppOnceAndBadEnvFileLines) {
  std::string env_file = writeFile(".env", "A=1\nB=\"x\" y\n");
  LoadResult result = loadArgs({"--check-config", "--env-file", env_file});
  std::vector<std::string> expected = {
      "no app given: pass APP (for example main:app), or set app in the config file or "
      "ASGID_APP",
      env_file + ":2: unexpected 'y' after the value",
  };
  EXPECT_EQ(result.errors, expected);
  // A bad APP is named once, without "no app given" as well.
  result = loadArgs({"--check-config", "notanapp"});
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0], "APP: 'notanapp' is not module:attr (for example main:app)");
}

TEST_F(ConfigReportTest, CheckConfigChecksDirectories) {
  LoadResult result = loadArgs({"--check-config", "main:app", "--app-dir", dir_ + "/missing",
                                "--venv", dir_, "--chdir", dir_});
  std::vector<std::string> expected = {
      "--app-dir: '" + dir_ + "/missing' does not exist",
      "--venv: '" + dir_ + "' is not a virtualenv (no pyvenv.cfg)",
  };
  EXPECT_EQ(result.errors, expected);
  // Relative to --chdir.
  std::filesystem::create_directory(dir_ + "/src");
  result = loadArgs({"--check-config", "main:app", "--chdir", dir_, "--app-dir", "src"});
  EXPECT_TRUE(result.errors.empty()) << result.errors[0];
  // A file where a directory belongs; a venv that does not exist.
  writeFile("file", "");
  result = loadArgs(
      {"--check-config", "main:app", "--app-dir", dir_ + "/file", "--venv", dir_ + "/gone"});
  expected = {"--app-dir: '" + dir_ + "/file' is not a directory",
              "--venv: '" + dir_ + "/gone' does not exist"};
  EXPECT_EQ(result.errors, expected);
}

// The master's check, run after it moved into --chdir: relative paths are named in full.
TEST_F(ConfigReportTest, CheckPathsAfterChdirNamesAbsolutePaths) {
  std::filesystem::create_directories(dir_ + "/venv");
  writeFile("venv/pyvenv.cfg", "home = /usr/bin\n");
  Settings settings;
  settings.chdir = dir_;
  settings.venv = "venv";
  settings.app_dir = "src";
  std::filesystem::path before = std::filesystem::current_path();
  std::filesystem::current_path(dir_);
  std::vector<std::string> problems = checkPaths(settings, PathBase::kChdirApplied);
  std::filesystem::current_path(before);
  std::string here = std::filesystem::canonical(dir_).string();
  EXPECT_EQ(problems, std::vector<std::string>{"--app-dir: '" + here + "/src' does not exist"});
}

// As another user (the master checks after its privilege drop): EACCES is "permission
// denied" naming the user, never "does not exist" or "not a virtualenv". Needs root to
// become nobody; the check runs in a child so this process keeps its ids.
TEST_F(ConfigReportTest, CheckPathsAsAnotherUserSaysPermissionDenied) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to check as nobody";
  const passwd* nobody = getpwnam("nobody");
  ASSERT_NE(nobody, nullptr);
  std::filesystem::create_directories(dir_ + "/private/.venv");
  writeFile("private/.venv/pyvenv.cfg", "home = /usr/bin\n");
  std::filesystem::create_directories(dir_ + "/open/.venv");
  writeFile("open/.venv/pyvenv.cfg", "home = /usr/bin\n");
  chmod((dir_ + "/private").c_str(), 0700);
  chmod(dir_.c_str(), 0755);
  chmod((dir_ + "/open/.venv/pyvenv.cfg").c_str(), 0600);
  Settings settings;
  settings.app_dir = dir_ + "/private";
  settings.venv = dir_ + "/private/.venv";
  Settings unreadable_marker;
  unreadable_marker.app_dir = dir_ + "/open";
  unreadable_marker.venv = dir_ + "/open/.venv";

  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(fds[0]);
    if (setgid(nobody->pw_gid) != 0 || setgroups(0, nullptr) != 0 || setuid(nobody->pw_uid) != 0) {
      _exit(3);
    }
    std::string text;
    for (const Settings* each : {&settings, &unreadable_marker}) {
      for (const std::string& problem : checkPaths(*each)) text += problem + "\n";
    }
    ssize_t written = write(fds[1], text.data(), text.size());
    _exit(written == static_cast<ssize_t>(text.size()) ? 0 : 4);
  }
  close(fds[1]);
  std::string text;
  char buffer[4096];
  for (ssize_t got; (got = read(fds[0], buffer, sizeof buffer)) > 0;) text.append(buffer, got);
  close(fds[0]);
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_EQ(text, "--app-dir: '" + dir_ +
                      "/private' is not readable by user nobody (permission "
                      "denied)\n"
                      "--venv: '" +
                      dir_ +
                      "/private/.venv' is not readable by user nobody (permission "
                      "denied)\n"
                      "--venv: '" +
                      dir_ +
                      "/open/.venv' has a pyvenv.cfg not readable by user nobody "
                      "(permission denied)\n");
}

TEST_F(ConfigReportTest, WithoutCheckConfigLoadThrowsEveryError) {
  try {
    run({"--port", "abc", "--backlog", "0"});
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    std::vector<std::string> expected = {"--port: 'abc' is not an integer",
                                         "--backlog: 0 is out of range 1..65535"};
    EXPECT_EQ(e.messages(), expected);
    EXPECT_EQ(std::string(e.what()), expected[0] + "\n" + expected[1]);
  }
}

TEST_F(ConfigReportTest, SourcesNameWhereEachValueCameFrom) {
  std::string config = writeConfig("port: 9000\nbacklog: 100\n");
  env_["ASGID_BACKLOG"] = "200";
  env_["WEB_CONCURRENCY"] = "3";
  Settings s = run({"--config", config, "--root-path", "/api"});
  EXPECT_EQ(s.sources["app"], "APP");
  EXPECT_EQ(s.sources["port"], config + ":2");
  EXPECT_EQ(s.sources["backlog"], "ASGID_BACKLOG");
  EXPECT_EQ(s.sources["workers"], "WEB_CONCURRENCY");
  EXPECT_EQ(s.sources["root_path"], "--root-path");
  EXPECT_FALSE(s.sources.contains("host"));
}

TEST_F(ConfigReportTest, PrintConfigCommentsEachSource) {
  std::string config = writeConfig("port: 9000\nheaders:\n  - \"X-A: b, c\"\n");
  env_["ASGID_BACKLOG"] = "200";
  LoadResult result = loadArgs({"--print-config", "--config", config, "--no-access-log"});
  EXPECT_EQ(result.action, Action::kPrintConfig);
  std::string text = printConfig(result.settings);
  EXPECT_NE(text.find("\nport: 9000  # " + config + ":2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nbacklog: 200  # ASGID_BACKLOG\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\naccess_log: false  # --no-access-log\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nhost: 127.0.0.1  # default\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nheaders:  # " + config + ":3\n  - \"X-A: b, c\"\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("\n# uds: (not set)  # default\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nbind: []  # default\n"), std::string::npos) << text;
  // The alias is not a key of its own.
  EXPECT_EQ(text.find("h11_max_incomplete_event_size"), std::string::npos) << text;
}

TEST_F(ConfigReportTest, PrintConfigLoadsBackToTheSameSettings) {
  std::string config = writeConfig(
      "port: 9000\nheaders: [\"X-Q: \\\"quoted\\\" \\\\ and # hash\"]\nuds_perms: 0660\n"
      "root_path: \"\"\nerror_logfile: \"-\"\nuser: \"null\"\nreload_excludes: [\"*.tmp\", "
      "\"~*\"]\n");
  Settings first = run({"--config", config, "--workers", "3", "--bind", "[::1]:80", "--bind",
                        "unix:/tmp/a b.sock", "--timeout-keep-alive", "0.5", "--lifespan", "off"});
  std::string printed = writeFile("printed.yaml", printConfig(first));
  LoadResult again = loadArgs({"--config", printed});
  // Every row shows the same value, whichever source gave it.
  for (const SettingSpec& spec : settingsTable()) {
    EXPECT_EQ(spec.show(again.settings), spec.show(first)) << spec.name;
  }
  EXPECT_EQ(again.settings.headers, first.headers);
  EXPECT_EQ(again.settings.bind, first.bind);
  EXPECT_EQ(again.settings.user, "null");
}

TEST_F(ConfigReportTest, YamlScalarQuotesOnlyWhatNeedsIt) {
  EXPECT_EQ(yamlScalar("main:app"), "main:app");
  EXPECT_EQ(yamlScalar("0660"), "0660");
  EXPECT_EQ(yamlScalar("/var/run/a.sock"), "/var/run/a.sock");
  EXPECT_EQ(yamlScalar("-"), "\"-\"");
  EXPECT_EQ(yamlScalar(""), "\"\"");
  EXPECT_EQ(yamlScalar("~"), "\"~\"");
  EXPECT_EQ(yamlScalar("null"), "\"null\"");
  EXPECT_EQ(yamlScalar("a:"), "\"a:\"");
  EXPECT_EQ(yamlScalar("a \"b\"\\\t"), "\"a \\\"b\\\"\\\\\\x09\"");
}

TEST_F(ConfigReportTest, EnvFileIsReadByLoad) {
  std::string env_file = writeFile(".env", "export GREETING=hi\nHOME=/not/used\nWHO=${USER}\n");
  env_["HOME"] = "/real";
  env_["USER"] = "ann";
  Settings s = run({"--env-file", env_file});
  ASSERT_EQ(s.app_environment.size(), 2u);
  EXPECT_EQ(s.app_environment[0].name, "GREETING");
  EXPECT_EQ(s.app_environment[0].value, "hi");
  EXPECT_EQ(s.app_environment[1].name, "WHO");
  EXPECT_EQ(s.app_environment[1].value, "ann");
  EXPECT_EQ(s.sources["env_file"], "--env-file");
  std::string text = printConfig(s);
  EXPECT_NE(text.find("# " + env_file + " gives the app: GREETING (line 1) WHO (line 3)\n"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("ann"), std::string::npos) << "values are never printed";
}

TEST_F(ConfigReportTest, EnvFileErrorsAreFileAndLine) {
  std::string env_file = writeFile(".env", "OK=1\n'unterminated=1\n");
  EXPECT_EQ(errorOf({"--env-file", env_file}), env_file + ":2: unterminated or empty quoted name");
  EXPECT_EQ(errorOf({"--env-file", dir_ + "/none"}),
            "cannot open env file '" + dir_ + "/none': No such file or directory");
}

TEST_F(ConfigReportTest, UvicornFlagsWithoutMeaningAreAcceptedWithANotice) {
  Settings s = run(
      {"--loop", "uvloop", "--http", "httptools", "--interface", "asgi3", "--reset-contextvars"});
  std::vector<std::string> lines = notices(s);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_TRUE(lines[0].starts_with("--loop (from --loop): asgid runs each worker")) << lines[0];
  EXPECT_TRUE(lines[1].starts_with("--http (from --http): ")) << lines[1];
  EXPECT_TRUE(lines[2].starts_with("--interface (from --interface): ")) << lines[2];
  EXPECT_TRUE(
      lines[3].starts_with("--reset-contextvars (from --reset-contextvars): asgid "
                           "always does this: each request runs in a fresh copy"))
      << lines[3];
  EXPECT_TRUE(notices(run({})).empty());
  // The defaults given explicitly, as --print-config's output gives them: nothing to say.
  EXPECT_TRUE(notices(run({"--loop", "auto", "--interface", "auto"})).empty());
  EXPECT_EQ(errorOf({"--loop", "trio"}),
            "--loop: 'trio' is not one of auto, asyncio, uvloop, zuvloop");
  EXPECT_EQ(errorOf({"--http", "h2"}), "--http: 'h2' is not one of auto, h11, httptools, zttp");
}

TEST_F(ConfigReportTest, InterfaceOtherThanAsgi3IsAClearError) {
  EXPECT_EQ(run({"--interface", "auto"}).interface, "auto");
  EXPECT_NE(errorOf({"--interface", "asgi2"})
                .find("--interface: asgid serves ASGI 3 "
                      "applications only"),
            std::string::npos);
  EXPECT_NE(errorOf({"--interface", "wsgi"}).find("WSGIMiddleware"), std::string::npos);
}

TEST_F(ConfigReportTest, H11MaxIncompleteEventSizeSetsTheHeadLimit) {
  Settings s = run({"--h11-max-incomplete-event-size", "4096"});
  EXPECT_EQ(s.limit_request_headers_size, 4096);
  EXPECT_EQ(s.sources["limit_request_headers_size"], "--h11-max-incomplete-event-size");
  ASSERT_EQ(notices(s).size(), 1u);
  EXPECT_NE(notices(s)[0].find("sets --limit-request-headers-size"), std::string::npos);
  EXPECT_EQ(errorOf({"--h11-max-incomplete-event-size", "0"}),
            "--h11-max-incomplete-event-size: 0 is out of range (must be >= 1)");
  env_["ASGID_H11_MAX_INCOMPLETE_EVENT_SIZE"] = "1000";
  EXPECT_EQ(run({}).limit_request_headers_size, 1000);
}

}  // namespace
}  // namespace asgid::config
