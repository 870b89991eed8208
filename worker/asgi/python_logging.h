// The app's Python logging, set up in each worker (and in a --preload master) before the app
// is imported: asgid_logging.Handler on the root logger, the root's level from --log-level,
// then --log-config's dictionary through logging.config.dictConfig. GIL held.
#pragma once

#include "config/settings.h"

namespace asgid::py {

// Throws PyError (a --log-config that dictConfig refuses, with Python's message).
void installPythonLogging(const config::Settings& settings);

}  // namespace asgid::py
