// How late the loop runs its timers: a coroutine asks to wake every 10 ms and
// records how late it woke into log-bucketed histograms, one per second,
// kept for a sliding window. A late wake-up means something held the loop.
#pragma once

#include <asio.hpp>

#include <array>
#include <chrono>

#include "common/histogram.hpp"
#include "common/protocol.hpp"

namespace loopchat {

class LoopLagMonitor {
 public:
  static constexpr auto kInterval = std::chrono::milliseconds(10);
  static constexpr std::size_t kWindowSeconds = 10;

  explicit LoopLagMonitor(asio::io_context& io);
  void start();
  void stop();  // run() ends at its next wake-up, whatever was queued

  // p50, p99 and max over the window, in milliseconds.
  protocol::LoopLag window() const;

 private:
  asio::awaitable<void> run();
  Histogram& current_second(std::chrono::steady_clock::time_point now);

  asio::steady_timer timer_;
  std::array<Histogram, kWindowSeconds> seconds_;  // microseconds of lateness
  std::int64_t current_second_ = -1;
  bool stopped_ = false;  // checked after every wait: see stop()
};

}  // namespace loopchat
