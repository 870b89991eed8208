// The ASGI lifespan protocol (ASGI spec "Lifespan Protocol" 2.0) for one worker: the app's
// lifespan call runs in a task for the worker's whole life; startup and shutdown are messages
// it receives. The driver is Python (asgid_lifespan.py, embedded); this class runs it on the
// worker's loop and turns its outcome into log lines and a yes/no. GIL held throughout.
#pragma once

#include <Python.h>

#include "worker/loop/event_loop.h"
#include "worker/python/py_ref.h"

namespace asgid::py {

class Lifespan {
 public:
  // `required`: --lifespan on (an app that does not take the protocol is an error), else
  // auto (such an app is served without it). `state` is the dict shared with request scopes.
  Lifespan(EventLoop& loop, PyRef app, bool required, PyRef state);

  // Runs the startup until the app answers; logs and returns false if it failed.
  bool startup();
  // Runs the shutdown until the app answers (or its task ends); logs a failure.
  void shutdown();

 private:
  EventLoop& loop_;
  PyRef app_;
  bool required_;
  PyRef state_;
  PyRef driver_;
};

}  // namespace asgid::py
