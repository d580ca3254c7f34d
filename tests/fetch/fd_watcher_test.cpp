// FdWatcher on a socket pair it does not own, on one io_context.
#include "server/transport/fd_watcher.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace loopchat {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using Ready = FdWatcher::Ready;

class FdWatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds), 0);
  }
  void TearDown() override {
    ::close(fds[0]);
    ::close(fds[1]);
  }
  void send_byte() { ASSERT_EQ(::write(fds[1], "x", 1), 1); }
  void drain() {
    char buffer[64];
    while (::read(fds[0], buffer, sizeof buffer) > 0) {
    }
  }
  // Runs the loop until it is out of work, or `limit` passes: true if out of work.
  bool runs_out_of_work(Clock::duration limit = 2s) {
    io.restart();
    io.run_for(limit);
    return io.stopped();
  }

  asio::io_context io{1};
  int fds[2] = {-1, -1};
  std::vector<Ready> calls;
  FdWatcher::Callback record = [this](Ready ready, std::error_code ec) {
    EXPECT_FALSE(ec);
    calls.push_back(ready);
  };
};

TEST_F(FdWatcherTest, CallsBackWhenReadableAndAgainWhileWanted) {
  FdWatcher watcher(io, fds[0], [&](Ready ready, std::error_code ec) {
    record(ready, ec);
    drain();
    if (calls.size() == 2) watcher.watch(false, false);
  });
  watcher.watch(true, false);
  EXPECT_EQ(io.poll(), 0u);  // nothing to read yet
  send_byte();
  io.run_one_for(2s);
  EXPECT_EQ(calls, std::vector<Ready>{Ready::read});
  send_byte();  // still wanted: a wait was pending again
  EXPECT_TRUE(runs_out_of_work());
  EXPECT_EQ(calls, (std::vector<Ready>{Ready::read, Ready::read}));
}

TEST_F(FdWatcherTest, WritableAndBothDirections) {
  const auto seen = [&](Ready ready) {
    return std::find(calls.begin(), calls.end(), ready) != calls.end();
  };
  FdWatcher watcher(io, fds[0], [&](Ready ready, std::error_code ec) {
    record(ready, ec);
    watcher.watch(!seen(Ready::read), !seen(Ready::write));  // each direction once
  });
  send_byte();
  watcher.watch(true, true);
  EXPECT_TRUE(runs_out_of_work());
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_TRUE(seen(Ready::read));
  EXPECT_TRUE(seen(Ready::write));
}

TEST_F(FdWatcherTest, AnUnwantedDirectionHoldsNoWork) {
  FdWatcher watcher(io, fds[0], record);
  watcher.watch(true, false);
  watcher.watch(false, false);  // the pending read wait is cancelled
  EXPECT_TRUE(runs_out_of_work());
  send_byte();
  EXPECT_TRUE(runs_out_of_work());
  EXPECT_TRUE(calls.empty());
}

TEST_F(FdWatcherTest, WantedAgainRightAfterUnwantedStillCallsBackOnce) {
  FdWatcher watcher(io, fds[0], [&](Ready ready, std::error_code ec) {
    record(ready, ec);
    watcher.watch(false, false);
  });
  watcher.watch(true, false);
  watcher.watch(false, false);
  watcher.watch(true, false);  // the cancelled wait's completion must not count
  send_byte();
  EXPECT_TRUE(runs_out_of_work());
  EXPECT_EQ(calls, std::vector<Ready>{Ready::read});
}

TEST_F(FdWatcherTest, DestroyedWatcherEndsItsWaitsAndLeavesTheDescriptorOpen) {
  {
    FdWatcher watcher(io, fds[0], record);
    watcher.watch(true, false);
    EXPECT_EQ(io.poll(), 0u);
  }
  send_byte();
  EXPECT_TRUE(runs_out_of_work());
  EXPECT_TRUE(calls.empty());
  EXPECT_NE(::fcntl(fds[0], F_GETFD), -1);  // still open: the owner closes it
  char byte = 0;
  EXPECT_EQ(::read(fds[0], &byte, 1), 1);
}

TEST_F(FdWatcherTest, TheCallbackMayDestroyTheWatcher) {
  std::unique_ptr<FdWatcher> watcher;
  watcher = std::make_unique<FdWatcher>(io, fds[0], [&](Ready ready, std::error_code ec) {
    record(ready, ec);
    watcher.reset();
  });
  watcher->watch(true, true);  // both ready at once: only the first calls back
  send_byte();
  EXPECT_TRUE(runs_out_of_work());
  EXPECT_EQ(calls.size(), 1u);
  EXPECT_EQ(watcher, nullptr);
}

}  // namespace
}  // namespace loopchat
