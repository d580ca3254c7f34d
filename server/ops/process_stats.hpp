// Figures about this process for `stats` and /metrics.
#pragma once

#include <cstdint>

namespace loopchat {

// Resident set size from /proc/self/statm (a kernel-generated file: reading
// it never waits on a disk, so it is safe on the loop).
std::uint64_t resident_bytes();

// Raises RLIMIT_NOFILE's soft limit to the hard limit; returns the new limit.
std::uint64_t raise_open_files_limit();

}  // namespace loopchat
