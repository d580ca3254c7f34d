// A token bucket: `rate_per_s` tokens a second, at most `burst` saved up.
// Each allowed action takes one token; without one, the action is refused
// (not queued), so a flooding client costs the loop almost nothing.
#pragma once

#include <algorithm>
#include <chrono>

namespace loopchat {

class TokenBucket {
 public:
  using Clock = std::chrono::steady_clock;

  TokenBucket(double rate_per_s, double burst)
      : rate_per_s_(rate_per_s), burst_(burst), tokens_(burst), last_(Clock::now()) {}

  bool try_take(Clock::time_point now = Clock::now()) {
    std::chrono::duration<double> elapsed = now - last_;
    last_ = now;
    tokens_ = std::min(burst_, tokens_ + elapsed.count() * rate_per_s_);
    if (tokens_ < 1.0) return false;
    tokens_ -= 1.0;
    return true;
  }

 private:
  double rate_per_s_;
  double burst_;
  double tokens_;
  Clock::time_point last_;
};

}  // namespace loopchat
