// A token bucket: `rate_per_s` tokens a second, at most `burst` saved up.
// Each allowed action takes one token; without one, the action is refused
// (not queued), so a flooding client costs the loop almost nothing.
//
// It also charges in arrears, for costs known only after the action (a
// broadcast's fan-out): has_credit() admits while the balance is positive,
// and charge() may take it below zero; the debt is repaid at `rate_per_s`.
#pragma once

#include <algorithm>
#include <chrono>

namespace loopchat {

class TokenBucket {
 public:
  using Clock = std::chrono::steady_clock;

  TokenBucket(double rate_per_s, double burst, Clock::time_point now = Clock::now())
      : rate_per_s_(rate_per_s), burst_(burst), tokens_(burst), last_(now) {}

  bool try_take(Clock::time_point now = Clock::now()) {
    refill(now);
    if (tokens_ < 1.0) return false;
    tokens_ -= 1.0;
    return true;
  }

  bool has_credit(Clock::time_point now = Clock::now()) {
    refill(now);
    return tokens_ > 0;
  }
  void charge(double tokens) { tokens_ -= tokens; }
  double balance() const { return tokens_; }

 private:
  void refill(Clock::time_point now) {
    std::chrono::duration<double> elapsed = now - last_;
    last_ = now;
    tokens_ = std::min(burst_, tokens_ + elapsed.count() * rate_per_s_);
  }

  double rate_per_s_;
  double burst_;
  double tokens_;
  Clock::time_point last_;
};

}  // namespace loopchat
