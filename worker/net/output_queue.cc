#include "worker/net/output_queue.h"

#include <errno.h>
#include <limits.h>

namespace asgid::net {
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
  if (head_ == segments_.size() || segments_.back().external != nullptr ||
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
    for (size_t i = head_; i < segments_.size() && count < kMaxIov; ++i) {
      const Segment& segment = segments_[i];
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
    while (head_ < segments_.size()) {
      Segment& front = segments_[head_];
      size_t take = std::min(left, front.size() - front.offset);
      front.offset += take;
      left -= take;
      if (front.offset != front.size()) break;
      popFront();
    }
  }
  return WriteStatus::kAll;
}

void OutputQueue::popFront() {
  Segment& front = segments_[head_];
  if (front.release != nullptr) front.release(front.owner);
  front.owned = std::string();  // free the copy now, not when the vector is next compacted
  front.release = nullptr;
  if (++head_ == segments_.size()) {
    segments_.clear();
    head_ = 0;
  } else if (head_ >= 32 && head_ * 2 >= segments_.size()) {
    segments_.erase(segments_.begin(), segments_.begin() + static_cast<ptrdiff_t>(head_));
    head_ = 0;
  }
}

void OutputQueue::clear() {
  while (head_ < segments_.size()) popFront();
  bytes_ = 0;
}

}  // namespace asgid::net
