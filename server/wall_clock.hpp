// Server wall-clock time as the protocol sends it (`ts`): milliseconds since
// the Unix epoch. Durations use std::chrono::steady_clock instead.
#pragma once

#include <chrono>
#include <cstdint>

namespace loopchat {

inline std::int64_t wall_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace loopchat
