// The connection's phases against the real binary, with a raw client that
// really misbehaves: each phase ends by its deadline whatever the peer does,
// control frames are bounded like any frame, closes and HTTP refusals linger
// so that the peer reads them instead of a reset, and the HTTP phase itself
// is bounded in number.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "tests/robustness/metrics_probe.hpp"
#include "tests/robustness/raw_ws.hpp"
#include "tests/support/server_process.hpp"

namespace loopchat::test {
namespace {

constexpr std::uint8_t kText = 0x1, kContinuation = 0x0, kPing = 0x9;

int open_descriptors(pid_t pid) {
  int count = 0;
  for ([[maybe_unused]] const auto& entry :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd"))
    ++count;
  return count;
}

std::string upgrade_without(const std::string& header, const std::string& replacement = {}) {
  std::string request =
      "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
  auto at = request.find(header);
  auto end = request.find("\r\n", at) + 2;
  return request.replace(at, end - at, replacement);
}

TEST(ConnectionPhases, AMissingVersionIs426WithTheVersionWeSpeak) {
  ServerProcess server;
  RawWsClient c(server.port());
  c.send(upgrade_without("Sec-WebSocket-Version"));
  EXPECT_EQ(c.upgrade_answer(), 426);
  EXPECT_NE(c.response_head().find("Sec-WebSocket-Version: 13"), std::string::npos)
      << c.response_head();
}

TEST(ConnectionPhases, AnUnsupportedVersionIs426) {
  ServerProcess server;
  RawWsClient c(server.port());
  c.send(upgrade_without("Sec-WebSocket-Version", "Sec-WebSocket-Version: 8\r\n"));
  EXPECT_EQ(c.upgrade_answer(), 426);
  EXPECT_NE(c.response_head().find("Sec-WebSocket-Version: 13"), std::string::npos);
}

TEST(ConnectionPhases, AMissingKeyIs400) {
  ServerProcess server;
  RawWsClient c(server.port());
  c.send(upgrade_without("Sec-WebSocket-Key"));
  EXPECT_EQ(c.upgrade_answer(), 400);
}

// A client streams pings and never reads: its pongs fill its bounded queue,
// and it is closed as a slow consumer instead of growing the server's memory.
TEST(ConnectionPhases, PongsToAClientThatNeverReadsAreBoundedByTheQueue) {
  ServerProcess server({"--max-queue-bytes", "65536"});
  RawWsClient flooder(server.port(), {}, /*receive_buffer_bytes=*/4096);
  ASSERT_EQ(flooder.upgrade(), 101);
  std::string pings;
  for (int i = 0; i < 1000; ++i) pings += make_frame(kPing, std::string(125, 'p'));
  // 127 bytes of pong per ping: past the queue bound within a few batches.
  bool closed = false;
  for (int batch = 0; batch < 100 && !closed; ++batch) {
    try {
      flooder.send(pings);
    } catch (const std::runtime_error&) {
      closed = true;  // the server gave up on it
    }
    closed = closed || metric(server.port(), limit_hits("queue_bytes")).value_or(0) >= 1;
  }
  EXPECT_TRUE(closed);
  EXPECT_TRUE(eventually([&] { return metric(server.port(), limit_hits("queue_bytes")) >= 1; }));
  EXPECT_TRUE(eventually([&] { return metric(server.port(), "loopchat_connections") == 0; }));
  // Others are served.
  RawWsClient other(server.port());
  EXPECT_EQ(other.upgrade(), 101);
}

// The peer sends its close while a backlog is queued for it, then stops
// reading: the connection ends at the close timeout and stops counting.
TEST(ConnectionPhases, APeerThatClosesAndStopsReadingIsDroppedAtTheCloseTimeout) {
  ServerProcess server({"--close-timeout-ms", "500", "--max-queue-bytes", "4194304"});
  RawWsClient stuck(server.port(), {}, /*receive_buffer_bytes=*/4096);
  ASSERT_EQ(stuck.upgrade(), 101);
  // A backlog: history answers of a room with big messages.
  std::string burst = make_frame(kText, R"({"type":"join","room":"r"})");
  for (int i = 0; i < 30; ++i)
    burst += make_frame(kText,
                        R"({"type":"say","room":"r","text":")" + std::string(8000, 'x') + R"("})");
  for (int i = 0; i < 5; ++i)  // 1.4 MB queued: more than the socket takes, less than the bound
    burst += make_frame(kText, R"({"type":"history","room":"r","limit":30})");
  int descriptors_before = open_descriptors(server.pid());
  stuck.send(burst);
  stuck.send(close_frame(1000));
  // It counts until its socket is gone, and the socket goes at the timeout,
  // while the client still reads nothing.
  EXPECT_TRUE(eventually([&] { return metric(server.port(), "loopchat_connections") == 0; },
                         std::chrono::seconds(5)));
  EXPECT_TRUE(eventually([&] { return open_descriptors(server.pid()) < descriptors_before; },
                         std::chrono::seconds(5)));
}

// A message over the limit in fragments, sent on after the limit: the
// client reads the 1009 close frame, not a reset that destroys it.
TEST(ConnectionPhases, AFragmentedMessageOverTheLimitGets1009NotAReset) {
  ServerProcess server({"--max-message-bytes", "1024"});
  for (int round = 0; round < 10; ++round) {
    RawWsClient c(server.port());
    ASSERT_EQ(c.upgrade(), 101);
    // Like a client uploading a large message: it reads only when done.
    c.send(make_frame(kText, std::string(1000, 'a'), /*fin=*/false));
    std::string fragments;
    for (int i = 0; i < 50; ++i)
      fragments += make_frame(kContinuation, std::string(1000, 'a'), /*fin=*/false);
    for (int i = 0; i < 20; ++i) c.send(fragments);
    auto close = c.read_until_close();
    ASSERT_TRUE(close.has_value()) << "round " << round << ": no close frame";
    EXPECT_EQ(close->close_code(), 1009);
    EXPECT_TRUE(c.ended());
  }
}

// An HTTP refusal while the client still sends: the answer arrives whole.
TEST(ConnectionPhases, A431IsReadByAClientThatKeepsSending) {
  ServerProcess server({"--max-handshake-bytes", "1024"});
  for (int round = 0; round < 10; ++round) {
    RawWsClient c(server.port());
    c.send("GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: ");
    for (int i = 0; i < 20; ++i) c.send(std::string(50000, 'a'));
    EXPECT_EQ(c.upgrade_answer(), 431) << "round " << round;
  }
}

// Connections in their HTTP phase are bounded: past --max-handshakes a new
// socket is closed at accept, and the slots come back.
TEST(ConnectionPhases, HandshakesInFlightAreBounded) {
  ServerProcess server({"--max-handshakes", "2"});
  // Accepted in order: a and b take the two slots (even the /metrics probe
  // would not get in now).
  RawWsClient a(server.port()), b(server.port()), third(server.port());
  EXPECT_TRUE(third.ended());
  EXPECT_EQ(a.upgrade(), 101);
  EXPECT_EQ(b.upgrade(), 101);
  EXPECT_EQ(metric(server.port(), limit_hits("handshakes")), 1);
  RawWsClient later(server.port());
  EXPECT_EQ(later.upgrade(), 101);
}

}  // namespace
}  // namespace loopchat::test
