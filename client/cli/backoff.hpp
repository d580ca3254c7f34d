// Reconnect delays: exponential backoff with jitter, so that clients dropped
// together by a restarting server do not all come back in the same instant.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>

namespace loopchat::cli {

class Backoff {
 public:
  Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max,
          std::uint64_t seed = std::random_device{}());

  // The delay before the next attempt: initial * 2^(attempts so far), capped
  // at max, then drawn uniformly from its upper half ("equal jitter").
  std::chrono::milliseconds next();
  void reset() { attempts_ = 0; }
  unsigned attempts() const { return attempts_; }

 private:
  std::chrono::milliseconds initial_, max_;
  unsigned attempts_ = 0;
  std::mt19937_64 random_;
};

}  // namespace loopchat::cli
