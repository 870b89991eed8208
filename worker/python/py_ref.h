// A thin RAII layer over the CPython C API. Every function here requires the GIL.
//
// PyRef owns one strong reference. Construction says where the reference comes from:
// PyRef::steal() takes over a new reference (what most C API calls return), PyRef::borrow()
// adds one to a borrowed pointer. A null PyRef after a C API call means a Python exception is
// set; PyError::fetch() turns it into a C++ value (startup paths throw it, the data path logs it).
#pragma once

#include <Python.h>

#include <stdexcept>
#include <string>
#include <utility>

namespace asgid::py {

class PyRef {
 public:
  PyRef() = default;
  static PyRef steal(PyObject* object) { return PyRef(object); }
  static PyRef borrow(PyObject* object) {
    Py_XINCREF(object);
    return PyRef(object);
  }
  PyRef(const PyRef& other) : object_(other.object_) { Py_XINCREF(object_); }
  PyRef(PyRef&& other) noexcept : object_(std::exchange(other.object_, nullptr)) {}
  PyRef& operator=(PyRef other) noexcept {
    std::swap(object_, other.object_);
    return *this;
  }
  ~PyRef() { Py_XDECREF(object_); }

  PyObject* get() const { return object_; }
  explicit operator bool() const { return object_ != nullptr; }
  // Gives up ownership: the caller now owns the reference.
  PyObject* release() { return std::exchange(object_, nullptr); }
  void reset() { Py_CLEAR(object_); }

 private:
  explicit PyRef(PyObject* object) : object_(object) {}
  PyObject* object_ = nullptr;
};

// A Python exception, fetched out of the interpreter's error indicator.
class PyError : public std::runtime_error {
 public:
  // Takes the currently set Python exception (there must be one) and clears it.
  static PyError fetch();
  // The "Type: message" line.
  const PyRef& value() const { return value_; }
  // The formatted traceback (several lines), computed when the error was fetched.
  const std::string& traceback() const { return traceback_; }

 private:
  PyError(std::string summary, PyRef value, std::string traceback)
      : std::runtime_error(std::move(summary)),
        value_(std::move(value)),
        traceback_(std::move(traceback)) {}
  PyRef value_;
  std::string traceback_;
};

// Throws PyError if `object` is null (a C API call failed), else returns it owned.
inline PyRef checked(PyObject* object) {
  if (object == nullptr) throw PyError::fetch();
  return PyRef::steal(object);
}

// "Type: message" for an exception object, never throws (falls back to the type name).
std::string describeException(PyObject* exception);
// The full formatted traceback of an exception object ("Traceback (most recent call last):..").
std::string formatTraceback(PyObject* exception);

// Holds the GIL for a scope, from a thread that may not have it.
class GilGuard {
 public:
  GilGuard() : state_(PyGILState_Ensure()) {}
  ~GilGuard() { PyGILState_Release(state_); }
  GilGuard(const GilGuard&) = delete;
  GilGuard& operator=(const GilGuard&) = delete;

 private:
  PyGILState_STATE state_;
};

}  // namespace asgid::py
