// Request ids for --request-id: 32 lowercase hex digits, a random 64-bit prefix chosen once per
// process and a 64-bit counter, so ids are unique across workers, restarts and hosts (with the
// odds of 64 random bits) and cost no system call per request.
#pragma once

#include <string>

namespace asgid::http {

// The next id of this process. Loop thread only.
std::string nextRequestId();

}  // namespace asgid::http
