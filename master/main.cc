// asgid's entry point: parse the settings, bind the listeners, hand off to the master, return
// its exit code.
#include <cstdio>
#include <string>
#include <vector>

#include "common/log.h"
#include "common/process_title.h"
#include "config/config_report.h"
#include "config/settings.h"
#include "master/file_limit.h"
#include "master/listener.h"
#include "master/master.h"
#include "master/privileges.h"

namespace {

// --check-config: "ok" on stdout and 0, or each error on its own line on stderr and 1. The
// notices go to stderr too, so stdout is exactly "ok" for scripts.
int reportCheck(const asgid::config::LoadResult& loaded) {
  for (const std::string& notice : asgid::config::notices(loaded.settings)) {
    std::fprintf(stderr, "notice: %s\n", notice.c_str());
  }
  for (const std::string& error : loaded.errors) std::fprintf(stderr, "%s\n", error.c_str());
  if (!loaded.errors.empty()) return 1;
  std::printf("ok\n");
  return 0;
}

// With --user/--group, what root can read says little about the workers: the directory checks
// are redone as that user (an unknown user is an error too). Settings that did not load come
// back as defaults, without a user: their errors stay as they are.
void checkAsTargetUser(asgid::config::LoadResult& loaded) {
  const asgid::config::Settings& settings = loaded.settings;
  if (settings.user.empty() && settings.group.empty()) return;
  try {
    loaded.errors = asgid::master::checkPathsAs(asgid::master::resolveIdentity(settings), settings);
  } catch (const std::exception& error) {
    loaded.errors.push_back(error.what());
  }
}

}  // namespace

int main(int argc, char** argv) {
  using namespace asgid;
  // Kept for reloads (HUP re-reads the same command line) and binary upgrades (USR2 execs
  // it); the memory of argv itself becomes the process title.
  std::vector<std::string> arguments(argv, argv + argc);
  config::LoadResult loaded;
  try {
    loaded = config::load(argc, argv);
  } catch (const config::ConfigError& error) {
    for (const std::string& message : error.messages()) {
      std::fprintf(stderr, "asgid: %s\n", message.c_str());
    }
    return 2;
  }
  switch (loaded.action) {
    case config::Action::kExitOk:
      return 0;
    case config::Action::kCheckConfig:
      checkAsTargetUser(loaded);
      return reportCheck(loaded);
    case config::Action::kPrintConfig:
      std::fputs(config::printConfig(loaded.settings).c_str(), stdout);
      return 0;
    case config::Action::kServe:
      break;
  }
  process_title::init(argc, argv);
  config::Settings& settings = loaded.settings;
  master::Identity identity;
  try {
    identity = master::resolveIdentity(settings);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "asgid: %s\n", error.what());
    return 1;
  }
  try {
    // Before the drop, but owned by the dropped user: the processes that reopen them on
    // SIGUSR1 run as that user.
    log::setup(static_cast<log::Level>(settings.log_level), settings.access_log,
               settings.error_logfile, settings.access_logfile, identity.fileOwner());
    log::setFormat(config::logFormat(settings));
  } catch (const std::exception& error) {
    std::fprintf(stderr, "asgid: cannot open a log file: %s\n", error.what());
    return 1;
  }

  for (const std::string& notice : config::notices(settings)) log::main().info("{}", notice);

  master::FileLimit files = master::raiseFileLimit();
  if (files.now != files.before) {
    log::main().info("open-file limit: {} (raised from {})", files.now, files.before);
  } else {
    log::main().info("open-file limit: {}", files.now);
  }

  std::vector<master::BoundListener> listeners;
  try {
    master::applyProcessSettings(settings);
    listeners = master::bindListeners(settings);
    master::dropPrivileges(identity);
  } catch (const std::exception& error) {
    log::main().error("{}", error.what());
    return 1;
  }
  // As the user the workers will be: a --venv or --app-dir they cannot read (a clone in a
  // 0700 home with --user nobody) is a configuration error now, not a failure in every worker.
  std::vector<std::string> problems = config::checkPaths(settings, config::PathBase::kChdirApplied);
  for (const std::string& problem : problems) log::main().error("{}", problem);
  if (!problems.empty()) return 2;
  try {
    master::Master supervisor(std::move(arguments), std::move(settings), std::move(listeners));
    return supervisor.run();
  } catch (const std::exception& error) {
    log::main().error("{}", error.what());
    return 1;
  }
}
