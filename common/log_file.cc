#include "common/log_file.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace asgid::log {
namespace {

bool isDirectory(const std::string& path) {
  struct stat info;
  return stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode);
}

// O_NOFOLLOW: the directory was made a moment ago; if it is a symlink now, someone swapped it.
int chownDirectory(const std::string& path, const FileOwner& owner) {
  UniqueFd dir(open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dir || fchown(dir.get(), owner.uid, owner.gid) < 0) return errno;
  return 0;
}

// Creates each missing directory above `path`'s last component, like `mkdir -p`.
bool createDirectories(const std::string& path, const FileOwner& owner, OpenedFile& result) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos || slash == 0) return true;
  const std::string parent = path.substr(0, slash);
  if (isDirectory(parent)) return true;
  for (size_t end = parent.find('/', 1);; end = parent.find('/', end + 1)) {
    const std::string prefix = parent.substr(0, end);
    if (!prefix.empty() && !isDirectory(prefix)) {
      if (mkdir(prefix.c_str(), 0755) < 0 && errno != EEXIST) {
        result.error = errno;
        result.what = "create directory " + prefix;
        return false;
      }
      if (owner.changes()) {
        if (int error = chownDirectory(prefix, owner)) {
          result.error = error;
          result.what = "give directory " + prefix + " to its owner";
          return false;
        }
      }
    }
    if (end == std::string::npos) return true;
  }
}

// An existing file is chowned only if the name reached it directly: a plain file with one
// link, the same inode through lstat as through the descriptor (not a symlink, not swapped).
bool safeToChown(int fd, const std::string& path) {
  struct stat opened;
  struct stat named;
  if (fstat(fd, &opened) < 0 || lstat(path.c_str(), &named) < 0) return false;
  return S_ISREG(named.st_mode) && named.st_nlink == 1 && named.st_dev == opened.st_dev &&
         named.st_ino == opened.st_ino;
}

bool ownedBy(int fd, const FileOwner& owner) {
  struct stat info;
  if (fstat(fd, &info) < 0) return false;
  return (owner.uid == static_cast<uid_t>(-1) || info.st_uid == owner.uid) &&
         (owner.gid == static_cast<gid_t>(-1) || info.st_gid == owner.gid);
}

}  // namespace

OpenedFile openLogFile(const std::string& path, const FileOwner& owner) {
  OpenedFile result;
  if (!createDirectories(path, owner, result)) return result;
  constexpr int kAppend = O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC;
  // O_EXCL first, to know whether this call created the file (and never through a symlink).
  result.fd.reset(open(path.c_str(), kAppend | O_EXCL, 0666));
  const bool created = result.fd.valid();
  if (!created && errno == EEXIST) result.fd.reset(open(path.c_str(), kAppend, 0666));
  if (!result.fd) {
    result.error = errno;
    result.what = "open";
    return result;
  }
  if (!owner.changes() || ownedBy(result.fd.get(), owner)) return result;
  if (!created && !safeToChown(result.fd.get(), path)) return result;
  if (fchown(result.fd.get(), owner.uid, owner.gid) < 0) {
    result.error = errno;
    result.what = "give the file to its owner";
    result.fd.reset();
  }
  return result;
}

void FdFileSink::sink_it_(const spdlog::details::log_msg& message) {
  spdlog::memory_buf_t line;
  formatter_->format(message, line);
  const char* data = line.data();
  size_t left = line.size();
  while (left > 0) {
    ssize_t written = write(fd_.get(), data, left);
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) return;  // a full disk: nowhere left to say so
    data += written;
    left -= static_cast<size_t>(written);
  }
}

}  // namespace asgid::log
