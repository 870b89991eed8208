#include "common/process_title.h"

#include <sys/prctl.h>
#include <unistd.h>

#include <cstring>

extern char** environ;

namespace asgid::process_title {
namespace {

char* g_area = nullptr;
size_t g_size = 0;

}  // namespace

void init(int argc, char** argv) {
  if (argc <= 0 || argv == nullptr || argv[0] == nullptr) return;
  char* end = argv[argc - 1] + strlen(argv[argc - 1]);
  // The environment strings usually follow argv; move them out of the way to gain room.
  size_t count = 0;
  while (environ[count] != nullptr) ++count;
  if (count > 0 && environ[0] == end + 1) {
    char** copy = new char*[count + 1];
    for (size_t i = 0; i < count; ++i) {
      if (environ[i] == end + 1) end = environ[i] + strlen(environ[i]);
      copy[i] = strdup(environ[i]);
    }
    copy[count] = nullptr;
    environ = copy;
  }
  g_area = argv[0];
  g_size = static_cast<size_t>(end - argv[0]);
}

void set(const std::string& title) {
  prctl(PR_SET_NAME, title.c_str(), 0, 0, 0);
  if (g_area == nullptr || g_size == 0) return;
  size_t length = std::min(title.size(), g_size);
  memcpy(g_area, title.data(), length);
  memset(g_area + length, 0, g_size - length + 1);
}

}  // namespace asgid::process_title
