// asgid's entry point: parse the settings, bind the listeners, hand off, return the exit code.
#include <cstdio>

#include "common/log.h"
#include "config/settings.h"
#include "master/listener.h"
#include "worker/worker.h"

int main(int argc, char** argv) {
  using namespace asgid;
  config::LoadResult loaded;
  try {
    loaded = config::load(argc, argv);
  } catch (const config::ConfigError& error) {
    std::fprintf(stderr, "asgid: %s\n", error.what());
    return 2;
  }
  if (loaded.action == config::Action::kExitOk) return 0;
  const config::Settings& settings = loaded.settings;
  log::setup(static_cast<log::Level>(settings.log_level), settings.access_log);

  std::vector<master::BoundListener> bound;
  try {
    bound = master::bindListeners(settings);
  } catch (const std::exception& error) {
    log::main().error("{}", error.what());
    return 1;
  }
  std::vector<http::ListenerInfo> listeners;
  std::vector<std::string> urls;
  for (const auto& listener : bound) {
    listeners.push_back(listener.info);
    urls.push_back(listener.url);
  }
  return worker::run(settings, listeners, urls);
}
