// LoopLagMonitor::stop() must end the monitor even when its wake-up has
// already been queued: cancel() cannot reach a completed wait, and a monitor
// that re-arms after it keeps io.run() from ever returning (issue 9: SIGTERM
// under load, then the process in epoll_wait for good).
#include "server/ops/loop_lag_monitor.hpp"

#include <poll.h>

#include <gtest/gtest.h>

namespace loopchat {
namespace {

TEST(LoopLagMonitor, StopEndsItEvenWhenItsWakeUpIsAlreadyQueued) {
  asio::io_context io(1);
  LoopLagMonitor lag(io);
  lag.start();
  asio::post(io, [&] {
    // A long handler, as under load: the monitor's 10 ms wait expires
    // meanwhile. The reactor runs next and queues its completion, ahead of
    // the stop() posted here.
    ::poll(nullptr, 0, 3 * LoopLagMonitor::kInterval.count());
    asio::post(io, [&] { lag.stop(); });
  });
  io.run_for(std::chrono::seconds(2));
  EXPECT_TRUE(io.stopped()) << "the monitor kept the loop running after stop()";
}

TEST(LoopLagMonitor, StopBeforeItsFirstWaitEndsIt) {
  asio::io_context io(1);
  LoopLagMonitor lag(io);
  lag.start();
  lag.stop();
  io.run_for(std::chrono::seconds(2));
  EXPECT_TRUE(io.stopped());
}

}  // namespace
}  // namespace loopchat
