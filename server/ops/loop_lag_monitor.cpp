#include "server/ops/loop_lag_monitor.hpp"

#include <asio/experimental/as_tuple.hpp>

#include "server/ops/log.hpp"

namespace loopchat {

LoopLagMonitor::LoopLagMonitor(asio::io_context& io) : timer_(io) {}

void LoopLagMonitor::start() {
  asio::co_spawn(timer_.get_executor(), run(), log_failure("loop lag monitor"));
}

// cancel() alone is not enough: a wait that has already completed is queued
// with no error, and run() would re-arm the timer and keep io.run() going.
void LoopLagMonitor::stop() {
  stopped_ = true;
  timer_.cancel();
}

Histogram& LoopLagMonitor::current_second(std::chrono::steady_clock::time_point now) {
  std::int64_t second =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  Histogram& slot = seconds_[static_cast<std::size_t>(second) % kWindowSeconds];
  if (second != current_second_) {
    // Seconds skipped by a long stall hold stale data: clear them too.
    for (std::int64_t s = std::max(current_second_ + 1, second - std::int64_t(kWindowSeconds) + 1);
         s <= second; ++s)
      seconds_[static_cast<std::size_t>(s) % kWindowSeconds].reset();
    current_second_ = second;
  }
  return slot;
}

asio::awaitable<void> LoopLagMonitor::run() {
  auto due = std::chrono::steady_clock::now() + kInterval;
  while (!stopped_) {
    timer_.expires_at(due);
    auto [ec] = co_await timer_.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
    if (ec || stopped_) co_return;
    auto now = std::chrono::steady_clock::now();
    auto late = std::chrono::duration_cast<std::chrono::microseconds>(now - due).count();
    current_second(now).record(static_cast<std::uint64_t>(std::max<std::int64_t>(late, 0)));
    due = now + kInterval;  // measure each interval afresh: no catch-up bursts
  }
}

protocol::LoopLag LoopLagMonitor::window() const {
  Histogram merged;
  for (const Histogram& second : seconds_) merged.merge(second);
  auto ms = [](std::uint64_t us) { return static_cast<double>(us) / 1000.0; };
  return {ms(merged.percentile(50)), ms(merged.percentile(99)), ms(merged.max())};
}

}  // namespace loopchat
