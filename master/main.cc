// asgid's entry point: parse the settings, bind the listeners, hand off to the master, return
// its exit code.
#include <cstdio>
#include <string>
#include <vector>

#include "common/log.h"
#include "common/process_title.h"
#include "config/settings.h"
#include "master/file_limit.h"
#include "master/listener.h"
#include "master/master.h"
#include "master/privileges.h"

int main(int argc, char** argv) {
  using namespace asgid;
  // Kept for reloads (HUP re-reads the same command line) and binary upgrades (USR2 execs
  // it); the memory of argv itself becomes the process title.
  std::vector<std::string> arguments(argv, argv + argc);
  config::LoadResult loaded;
  try {
    loaded = config::load(argc, argv);
  } catch (const config::ConfigError& error) {
    std::fprintf(stderr, "asgid: %s\n", error.what());
    return 2;
  }
  if (loaded.action == config::Action::kExitOk) return 0;
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
  try {
    master::Master supervisor(std::move(arguments), std::move(settings), std::move(listeners));
    return supervisor.run();
  } catch (const std::exception& error) {
    log::main().error("{}", error.what());
    return 1;
  }
}
