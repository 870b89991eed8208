// --pid FILE: written atomically (a temporary file renamed over it) and removed on exit only
// if it still names this process (after a binary upgrade it names the new master).
#pragma once

#include <string>

namespace asgid::master {

class PidFile {
 public:
  PidFile() = default;
  ~PidFile();
  PidFile(const PidFile&) = delete;
  PidFile& operator=(const PidFile&) = delete;

  // Throws std::runtime_error naming the file.
  void write(const std::string& path);
  void remove();

 private:
  std::string path_;
};

}  // namespace asgid::master
