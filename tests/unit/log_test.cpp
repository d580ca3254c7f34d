// The log: a spawned coroutine's exception is logged and counted; lines are
// rate-limited per call site; a full stderr never blocks the caller. fd 2 is
// a pipe of the test's here, which reads it (or does not) as it pleases.
#include "server/ops/log.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <asio.hpp>

#include <chrono>
#include <stdexcept>
#include <string>

namespace loopchat {
namespace {

// Swaps fd 2 for the write end of a pipe for the test's life.
class StderrPipe {
 public:
  explicit StderrPipe(log::Settings settings, int pipe_bytes = 0) {
    saved_ = ::dup(STDERR_FILENO);
    int ends[2];
    if (::pipe2(ends, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    if (pipe_bytes > 0) ::fcntl(ends[1], F_SETPIPE_SZ, pipe_bytes);
    capacity_ = ::fcntl(ends[1], F_GETPIPE_SZ);
    read_end_ = ends[0];
    ::fcntl(read_end_, F_SETFL, O_NONBLOCK);
    ::dup2(ends[1], STDERR_FILENO);
    ::close(ends[1]);
    log::configure(settings);
  }
  ~StderrPipe() {
    ::dup2(saved_, STDERR_FILENO);
    ::close(saved_);
    ::close(read_end_);
    log::configure({});
  }
  // Everything in the pipe now.
  std::string drain() {
    std::string text;
    char buffer[4096];
    ssize_t n;
    while ((n = ::read(read_end_, buffer, sizeof buffer)) > 0) text.append(buffer, n);
    return text;
  }
  int capacity() const { return capacity_; }
  void grow(int pipe_bytes) { capacity_ = ::fcntl(read_end_, F_SETPIPE_SZ, pipe_bytes); }

 private:
  int saved_ = -1;
  int read_end_ = -1;
  int capacity_ = 0;
};

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

asio::awaitable<void> throws() {
  throw std::runtime_error("boom at the top");
  co_return;
}
asio::awaitable<int> throws_with_a_result() {
  throw std::logic_error("no result");
  co_return 1;
}

TEST(Log, ACoroutineSpawnedWithLogFailureThatThrowsIsLoggedAndCounted) {
  StderrPipe err({});
  auto before = log::counters().coroutine_failures;
  asio::io_context io;
  asio::co_spawn(io, throws(), log_failure("test coroutine"));
  asio::co_spawn(io, throws_with_a_result(), log_failure("test coroutine with a result"));
  asio::co_spawn(
      io, []() -> asio::awaitable<void> { co_return; }, log_failure("fine coroutine"));
  io.run();
  EXPECT_EQ(log::counters().coroutine_failures, before + 2);
  std::string text = err.drain();
  EXPECT_NE(text.find("error coroutine 'test coroutine' ended by an exception: boom at the top"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("coroutine 'test coroutine with a result' ended by an exception: no result"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("fine coroutine"), std::string::npos) << text;
}

TEST(Log, LinesOfOneCallSiteAreRateLimitedThenSummarised) {
  StderrPipe err({.lines_per_second = 5});
  auto before = log::counters().lines_suppressed;
  for (int i = 0; i < 1000; ++i) log::info("flood line ", i);
  log::info("another call site");
  // The loop may have crossed into a new second once: at most two windows' worth.
  std::string text = err.drain();
  std::size_t written = count(text, "info flood line ");
  EXPECT_GE(written, 5u);
  EXPECT_LE(written, 10u) << text;
  EXPECT_EQ(log::counters().lines_suppressed - before, 1000 - written);
  EXPECT_EQ(count(text, "another call site"), 1u) << "call sites are limited separately";

  // Once the second is over, the next line brings the count of the others.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (text.find("similar lines suppressed: \"flood line ...\")") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline) {
    ::poll(nullptr, 0, 20);  // waiting for the wall clock's next second: nothing to wait on
    log::info("tick");
    text += err.drain();
  }
  EXPECT_NE(text.find("similar lines suppressed: \"flood line ...\")"), std::string::npos) << text;
}

TEST(Log, AFullStderrNeverBlocksLinesWaitThenAreDroppedAndCounted) {
  constexpr std::size_t kBuffer = 8192;
  StderrPipe err({.lines_per_second = 0, .buffer_bytes = kBuffer}, 4096);
  auto before = log::counters().lines_dropped;
  const std::string pad(80, 'x');
  constexpr int kLines = 2000;  // ~220 KB: far beyond the pipe and the buffer
  auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < kLines; ++i) log::warn("line ", i, " ", pad);
  // With a blocking write the loop above never ends: the pipe is never read.
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
  std::uint64_t dropped = log::counters().lines_dropped - before;
  EXPECT_GT(dropped, 0u);
  EXPECT_LT(dropped, std::uint64_t(kLines));

  // The reader comes back (and room enough for everything): what waited
  // arrives with the next line, whole, then the note.
  std::string text = err.drain();
  int stalled_capacity = err.capacity();
  err.grow(65536);
  log::warn("after the stall");
  text += err.drain();
  std::size_t lines = count(text, "\n");
  std::size_t start_of_lines = count(text, "Z warn ");
  EXPECT_EQ(lines, start_of_lines) << "every line whole";
  EXPECT_EQ(count(text, " " + pad + "\n") + dropped, std::uint64_t(kLines));
  EXPECT_NE(text.find(std::to_string(dropped) + " log lines dropped: stderr was not writable"),
            std::string::npos)
      << text.substr(text.size() > 500 ? text.size() - 500 : 0);
  EXPECT_NE(text.find("after the stall"), std::string::npos);
  // The pipe held at most its capacity plus the buffer (and a started line).
  EXPECT_LE(text.size(), stalled_capacity + kBuffer + 2 * (pad.size() + 64) + 200);
}

TEST(Log, OnTheLoopWaitingLinesAreWrittenWithoutAnotherLine) {
  StderrPipe err({.lines_per_second = 0, .buffer_bytes = 65536}, 4096);
  asio::io_context io;
  log::LoopFlush flush(io);
  const std::string pad(100, 'y');
  for (int i = 0; i < 100; ++i) log::info("waiting line ", i, " ", pad);
  std::string text = err.drain();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (text.find("waiting line 99 ") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline) {
    io.run_for(std::chrono::milliseconds(10));
    text += err.drain();
  }
  EXPECT_EQ(count(text, "waiting line "), 100u);
  // Stopped, it leaves the loop: run() returns at once.
  flush.stop();
  io.restart();
  log::info("one more ", pad);
  for (int i = 0; i < 100; ++i) log::info("waiting line again ", i, " ", pad);
  auto before_run = std::chrono::steady_clock::now();
  io.run();
  EXPECT_LT(std::chrono::steady_clock::now() - before_run, std::chrono::seconds(1));
}

TEST(Log, Fd2ItselfStaysBlocking) {
  StderrPipe err({});
  log::info("a line");
  // Its open file description is shared (with the parent, often with fd 1).
  EXPECT_EQ(::fcntl(STDERR_FILENO, F_GETFL) & O_NONBLOCK, 0);
  EXPECT_NE(err.drain().find("a line"), std::string::npos);
}

}  // namespace
}  // namespace loopchat
