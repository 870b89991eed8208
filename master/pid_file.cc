#include "master/pid_file.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <stdexcept>

namespace asgid::master {

PidFile::~PidFile() {
  remove();
}

void PidFile::write(const std::string& path) {
  std::string temporary = path + ".tmp." + std::to_string(getpid());
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << getpid() << "\n";
    if (!out) throw std::runtime_error("cannot write pid file " + temporary);
  }
  if (rename(temporary.c_str(), path.c_str()) < 0) {
    std::string reason = strerror(errno);
    unlink(temporary.c_str());
    throw std::runtime_error("cannot write pid file " + path + ": " + reason);
  }
  path_ = path;
}

void PidFile::remove() {
  if (path_.empty()) return;
  std::ifstream in(path_);
  long pid = 0;
  if (in >> pid && pid == static_cast<long>(getpid())) unlink(path_.c_str());
  path_.clear();
}

}  // namespace asgid::master
