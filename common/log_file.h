// Log files: opening one (creating it and its missing directories for the user who will write
// it) and the spdlog sink that appends to the descriptor.
//
// Principle: the process that opens a file at startup may be root, but every later reopen
// (SIGUSR1, after logrotate) happens in processes that already run as --user/--group. So what
// root creates at startup is given to that user: a file asgid creates, and each directory it
// creates, are chowned to the owner; an existing file is chowned too (as gunicorn does), but
// only when it is a plain file with one link reached without a symlink, so a user who can
// write to the directory cannot make root chown something else. Existing directories are
// left alone: a root-owned /var/log/asgid stays root's.
#pragma once

#include <spdlog/sinks/base_sink.h>
#include <sys/types.h>

#include <mutex>
#include <string>

#include "common/unique_fd.h"

namespace asgid::log {

// The user and group the log files must belong to; -1: leave that id as it is.
struct FileOwner {
  uid_t uid = static_cast<uid_t>(-1);
  gid_t gid = static_cast<gid_t>(-1);
  bool changes() const { return uid != static_cast<uid_t>(-1) || gid != static_cast<gid_t>(-1); }
};

struct OpenedFile {
  UniqueFd fd;
  int error = 0;     // errno of the step that failed, 0 on success
  std::string what;  // that step ("create directory /var/log/asgid", "open", "chown")
};

// Opens `path` for appending (O_APPEND, close-on-exec), creating its missing directories (mode
// 0755) and the file (mode 0666, both less the umask). With `owner.changes()`, what was created,
// and an existing plain file, is given to `owner`. Never throws.
OpenedFile openLogFile(const std::string& path, const FileOwner& owner = {});

// Appends each formatted line with one write(2) on an O_APPEND descriptor, so the lines of the
// master and of every worker writing the same file never interleave within a line.
class FdFileSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  FdFileSink(UniqueFd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}
  const std::string& path() const { return path_; }

 protected:
  void sink_it_(const spdlog::details::log_msg& message) override;
  void flush_() override {}

 private:
  UniqueFd fd_;
  std::string path_;
};

}  // namespace asgid::log
