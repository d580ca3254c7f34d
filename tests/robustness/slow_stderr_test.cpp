// A server whose stderr is a pipe nobody reads: hostile clients make it log
// thousands of lines, and it must keep serving. With a blocking write it
// stops in write(2) once the pipe is full, and with it every connection.
#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <memory>

#include "tests/robustness/metrics_probe.hpp"
#include "tests/robustness/raw_ws.hpp"
#include "tests/support/server_process.hpp"

namespace loopchat::test {
namespace {

// Sends a protocol ping and reads until its pong, within `deadline`.
bool answers_ping(RawWsClient& c, std::chrono::milliseconds deadline) {
  c.send(make_frame(0x1, R"({"type":"ping","id":1})"));
  auto until = std::chrono::steady_clock::now() + deadline;
  try {
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          until - std::chrono::steady_clock::now());
      auto frame = c.read_frame(std::max(left, std::chrono::milliseconds(1)));
      if (!frame) return false;
      if (frame->payload.find(R"("type":"pong")") != std::string::npos) return true;
    }
  } catch (const std::runtime_error&) {
    return false;  // timed out
  }
}

TEST(SlowStderr, AServerWhoseStderrIsNeverReadKeepsServingAndCountsWhatItLeftOut) {
  int ends[2];
  ASSERT_EQ(::pipe2(ends, O_CLOEXEC), 0);
  ::fcntl(ends[1], F_SETPIPE_SZ, 4096);  // full after a few dozen lines
  // Every upgrade beyond the one connection allowed is refused with a log line.
  ServerProcess server(
      {"--max-connections", "1", "--log-lines-per-second", "200", "--log-buffer-bytes", "4096"},
      LOOPCHAT_SERVER_BIN, ends[1]);
  ::close(ends[1]);  // the read end stays open, and is never read
  RawWsClient member(server.port());
  ASSERT_EQ(member.upgrade(), 101);
  ASSERT_TRUE(answers_ping(member, std::chrono::seconds(5)));

  constexpr int kRefused = 3000;  // ~300 KB of log lines: far beyond the pipe and the buffer
  for (int i = 0; i < kRefused; ++i) {
    RawWsClient refused(server.port());
    ASSERT_EQ(refused.upgrade(std::chrono::seconds(5)), 503) << i;
    if (i % 250 == 0) {
      ASSERT_TRUE(answers_ping(member, std::chrono::seconds(5))) << i;
    }
  }
  EXPECT_TRUE(answers_ping(member, std::chrono::seconds(5)));
  EXPECT_EQ(metric(server.port(), limit_hits("connections")), kRefused);
  // Over 200 a second, the lines were counted, not written; of those
  // written, what neither the pipe nor the buffer could hold was dropped.
  auto suppressed = metric(server.port(), "loopchat_log_lines_suppressed_total");
  auto dropped = metric(server.port(), "loopchat_log_lines_dropped_total");
  ASSERT_TRUE(suppressed && dropped);
  EXPECT_GT(*suppressed, 0);
  EXPECT_GT(*dropped, 0);
  EXPECT_LT(*suppressed + *dropped, kRefused + 100);
  ::close(ends[0]);
}

}  // namespace
}  // namespace loopchat::test
