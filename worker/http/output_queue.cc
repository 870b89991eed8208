#include "worker/http/output_queue.h"

#include <errno.h>
#include <limits.h>

namespace asgid::http {
namespace {

constexpr size_t kMaxIov = 64;
// Owned segments grow up to this before a new one is started.
constexpr size_t kOwnedSegmentCap = 64 * 1024;

}  // namespace

void OutputQueue::append(std::string_view data) {
  if (data.empty()) return;
  tail().append(data);
  bytes_ += data.size();
}

std::string& OutputQueue::tail() {
  if (segments_.empty() || segments_.back().external != nullptr ||
      segments_.back().owned.size() >= kOwnedSegmentCap) {
    segments_.emplace_back();
  }
  return segments_.back().owned;
}

void OutputQueue::appendExternal(const char* data, size_t size, ReleaseFn release, void* owner) {
  Segment& segment = segments_.emplace_back();
  segment.external = data;
  segment.external_size = size;
  segment.release = release;
  segment.owner = owner;
  bytes_ += size;
}

OutputQueue::WriteStatus OutputQueue::writeTo(int fd) {
  while (bytes_ > 0) {
    struct iovec iov[kMaxIov];
    size_t count = 0;
    for (const auto& segment : segments_) {
      if (count == kMaxIov) break;
      if (segment.size() == segment.offset) continue;
      iov[count].iov_base = const_cast<char*>(segment.data() + segment.offset);
      iov[count].iov_len = segment.size() - segment.offset;
      ++count;
    }
    ssize_t written = ::writev(fd, iov, static_cast<int>(count));
    if (written < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return WriteStatus::kPartial;
      return WriteStatus::kError;
    }
    size_t left = static_cast<size_t>(written);
    bytes_ -= left;
    while (left > 0 ||
           (!segments_.empty() && segments_.front().size() == segments_.front().offset)) {
      Segment& front = segments_.front();
      size_t take = std::min(left, front.size() - front.offset);
      front.offset += take;
      left -= take;
      if (front.offset == front.size()) {
        popFront();
        if (segments_.empty()) break;
      } else {
        break;
      }
    }
  }
  return WriteStatus::kAll;
}

void OutputQueue::popFront() {
  Segment& front = segments_.front();
  if (front.release != nullptr) front.release(front.owner);
  segments_.pop_front();
}

void OutputQueue::clear() {
  while (!segments_.empty()) popFront();
  bytes_ = 0;
}

}  // namespace asgid::http
