// Process titles as ps and top show them ("asgid: master", "asgid: worker 3"). The title
// overwrites the memory of argv (and of the environment after it, which is first copied to the
// heap), the only place ps reads /proc/PID/cmdline from; top reads the 15-byte comm name.
#pragma once

#include <string>

namespace asgid::process_title {

// Call once, early in main, after argv has been copied elsewhere (it is overwritten later).
void init(int argc, char** argv);
void set(const std::string& title);

}  // namespace asgid::process_title
