// Storage for an incoming message that the application side owns. The engine can fill a
// binary message that arrives in one frame straight into it, unmasking as it copies out of the
// read buffer: the ASGI bridge hands out Python bytes objects, so such a message is copied once
// in user space instead of three times (unmask, reassemble, make the bytes object).
//
// No Python here: the owner is opaque and released through a function the provider gives.
// Valid on the loop thread only (that is where the owner may be released).
#pragma once

#include <cstddef>
#include <utility>

namespace asgid::ws {

class ExternalBuffer {
 public:
  using ReleaseFn = void (*)(void* owner);

  ExternalBuffer() = default;
  ExternalBuffer(char* data, size_t size, ReleaseFn release, void* owner)
      : data_(data), size_(size), release_(release), owner_(owner) {}
  ~ExternalBuffer() { reset(); }
  ExternalBuffer(ExternalBuffer&& other) noexcept { *this = std::move(other); }
  ExternalBuffer& operator=(ExternalBuffer&& other) noexcept {
    if (this != &other) {
      reset();
      data_ = std::exchange(other.data_, nullptr);
      size_ = std::exchange(other.size_, 0);
      release_ = std::exchange(other.release_, nullptr);
      owner_ = std::exchange(other.owner_, nullptr);
    }
    return *this;
  }
  ExternalBuffer(const ExternalBuffer&) = delete;
  ExternalBuffer& operator=(const ExternalBuffer&) = delete;

  explicit operator bool() const { return owner_ != nullptr; }
  char* data() const { return data_; }
  size_t size() const { return size_; }

  // Hands the owner to the caller, who now answers for releasing it.
  void* take() {
    data_ = nullptr;
    size_ = 0;
    release_ = nullptr;
    return std::exchange(owner_, nullptr);
  }
  void reset() {
    if (owner_ == nullptr) return;
    ReleaseFn release = release_;
    release(take());
  }

 private:
  char* data_ = nullptr;
  size_t size_ = 0;
  ReleaseFn release_ = nullptr;
  void* owner_ = nullptr;
};

// Where such buffers come from (the application side; see WebSocketHandler).
class ExternalBufferSource {
 public:
  // Room for exactly `size` bytes, or an empty buffer: the engine then uses its own memory.
  virtual ExternalBuffer messageBuffer(size_t size) = 0;

 protected:
  ~ExternalBufferSource() = default;
};

}  // namespace asgid::ws
