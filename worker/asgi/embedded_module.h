// The Python halves of the ASGI bridge (asgid_runtime.py, asgid_lifespan.py) are compiled into
// the binary and loaded as modules on first use, with `_log(level, message)` (10 debug, 20 info,
// 30 warning, 40 error) writing to asgid's error log. GIL held.
#pragma once

#include <Python.h>

namespace asgid::py {

// Creates module `name` from `source`, registers it in sys.modules and returns it (new
// reference). Throws PyError.
PyObject* loadEmbeddedModule(const char* name, const char* source, const char* filename);

// The modules, loaded once (borrowed references, alive for the interpreter's life).
PyObject* runtimeModule();
PyObject* lifespanModule();
PyObject* loggingModule();

}  // namespace asgid::py
