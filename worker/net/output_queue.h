// Bytes waiting to be written to one socket, in order. Small pieces are copied into owned
// buffers (so a head and a short body leave in one iovec); large bodies are referenced without
// copying, and their owner is told when the bytes have left (or will never leave).
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace asgid::net {

// Releases an external buffer; called exactly once, on the loop thread.
using ReleaseFn = void (*)(void* owner);

class OutputQueue {
 public:
  OutputQueue() = default;
  OutputQueue(const OutputQueue&) = delete;
  OutputQueue& operator=(const OutputQueue&) = delete;
  ~OutputQueue() { clear(); }

  // Copies `data` to the end of the queue.
  void append(std::string_view data);
  // Calls `build(buffer)` with the owned buffer at the end of the queue, to serialise a head
  // straight into it.
  template <typename Build>
  void build(Build&& build) {
    std::string& buffer = tail();
    size_t before = buffer.size();
    build(buffer);
    bytes_ += buffer.size() - before;
  }
  // References `data` (valid until `release(owner)` is called) without copying.
  void appendExternal(const char* data, size_t size, ReleaseFn release, void* owner);

  bool empty() const { return bytes_ == 0; }
  size_t bytes() const { return bytes_; }

  enum class WriteStatus { kAll, kPartial, kError };
  // Writes as much as the socket takes with writev. kError leaves errno set.
  WriteStatus writeTo(int fd);

  // Drops everything queued (releasing external buffers).
  void clear();

 private:
  struct Segment {
    std::string owned;  // used when `external` is null
    const char* external = nullptr;
    size_t external_size = 0;
    ReleaseFn release = nullptr;
    void* owner = nullptr;
    size_t offset = 0;  // bytes of this segment already written

    const char* data() const { return external ? external : owned.data(); }
    size_t size() const { return external ? external_size : owned.size(); }
  };
  std::string& tail();
  void popFront();

  // A vector read from `head_` rather than a deque: an empty vector owns no memory, and an idle
  // keep-alive connection should cost next to nothing (a deque allocates ~600 bytes at once).
  std::vector<Segment> segments_;
  size_t head_ = 0;  // segments before it are written and released
  size_t bytes_ = 0;
};

}  // namespace asgid::net
