// Each limit of issue 6 against the real binary: what the client sees when it
// passes it, that others are unaffected, and its counter in /metrics.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "tests/robustness/metrics_probe.hpp"
#include "tests/robustness/raw_ws.hpp"
#include "tests/support/server_process.hpp"

namespace loopchat::test {
namespace {

constexpr std::uint8_t kText = 0x1, kClose = 0x8, kPing = 0x9;
const std::string kPingRequest = R"({"type":"ping","id":7})";

std::string upgrade_request(const std::string& extra_headers) {
  return "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
         extra_headers + "\r\n";
}

// The status of the answer to `request`, sent on a fresh connection.
int status_of(std::uint16_t port, const std::string& request) {
  RawWsClient c(port);
  c.send(request);
  return c.upgrade_answer();
}

TEST(Limits, ConnectionsPerSourceAddressAre503BeyondTheLimit) {
  // The exempt list replaces the loopback default, so 127.0.0.x is limited.
  ServerProcess server({"--max-connections-per-ip", "3", "--per-ip-exempt", "192.0.2.0/24"});
  std::vector<std::unique_ptr<RawWsClient>> from_2;
  for (int i = 0; i < 3; ++i) {
    from_2.push_back(std::make_unique<RawWsClient>(server.port(), "127.0.0.2"));
    ASSERT_EQ(from_2.back()->upgrade(), 101) << i;
  }
  RawWsClient fourth(server.port(), "127.0.0.2");
  EXPECT_EQ(fourth.upgrade(), 503) << fourth.response_head();
  // Another address is not affected.
  RawWsClient other(server.port(), "127.0.0.3");
  EXPECT_EQ(other.upgrade(), 101);
  EXPECT_EQ(metric(server.port(), limit_hits("connections_per_ip")), 1);

  // A slot comes back when a connection ends, however it ends.
  from_2.front()->reset();
  from_2.erase(from_2.begin());
  EXPECT_TRUE(eventually([&] { return metric(server.port(), "loopchat_connections") == 3; }));
  RawWsClient again(server.port(), "127.0.0.2");
  EXPECT_EQ(again.upgrade(), 101) << again.response_head();
}

TEST(Limits, LoopbackIsExemptFromThePerSourceLimitByDefault) {
  ServerProcess server({"--max-connections-per-ip", "2"});
  std::vector<std::unique_ptr<RawWsClient>> clients;
  for (int i = 0; i < 5; ++i) {
    clients.push_back(std::make_unique<RawWsClient>(server.port(), "127.0.0.2"));
    EXPECT_EQ(clients.back()->upgrade(), 101) << i;
  }
  EXPECT_EQ(metric(server.port(), limit_hits("connections_per_ip")), 0);
}

TEST(Limits, TotalConnectionsAre503BeyondTheLimit) {
  ServerProcess server({"--max-connections", "2"});
  RawWsClient a(server.port()), b(server.port()), c(server.port());
  EXPECT_EQ(a.upgrade(), 101);
  EXPECT_EQ(b.upgrade(), 101);
  EXPECT_EQ(c.upgrade(), 503);
  EXPECT_EQ(metric(server.port(), limit_hits("connections")), 1);
}

TEST(Limits, RequestHeadOverTheLimitIs431) {
  ServerProcess server({"--max-handshake-bytes", "1024"});
  EXPECT_EQ(status_of(server.port(), upgrade_request("X-Pad: " + std::string(2000, 'a') + "\r\n")),
            431);
  // Just under the limit is fine.
  std::string fits = upgrade_request("X-Pad: \r\n");
  fits = upgrade_request("X-Pad: " + std::string(1024 - fits.size(), 'a') + "\r\n");
  ASSERT_EQ(fits.size(), 1024u);
  EXPECT_EQ(status_of(server.port(), fits), 101);
  // Many small headers and a plain GET are limited alike.
  std::string many;
  for (int i = 0; i < 200; ++i) many += "X-" + std::to_string(i) + ": v\r\n";
  EXPECT_EQ(status_of(server.port(), upgrade_request(many)), 431);
  EXPECT_EQ(status_of(server.port(),
                      "GET /healthz HTTP/1.1\r\nX-Pad: " + std::string(3000, 'b') + "\r\n\r\n"),
            431);
  EXPECT_EQ(metric(server.port(), limit_hits("handshake_bytes")), 3);
}

TEST(Limits, RequestHeadTrickledInPiecesIsLimitedToo) {
  ServerProcess server({"--max-handshake-bytes", "1024"});
  RawWsClient c(server.port());
  c.send("GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\n");
  for (int i = 0; i < 40; ++i) {
    try {
      c.send("X-" + std::to_string(i) + ": " + std::string(40, 'v') + "\r\n");
    } catch (const std::runtime_error&) {
      break;  // the server answered and closed: the rest is refused
    }
  }
  EXPECT_EQ(c.upgrade_answer(), 431);
}

TEST(Limits, WebsocketppOwnHeadLimitAnswers431) {
  // At the option's maximum (16000) websocketpp's own parser limit applies.
  ServerProcess server({"--max-handshake-bytes", "16000"});
  EXPECT_EQ(status_of(server.port(), upgrade_request("X-Pad: " + std::string(20000, 'a') + "\r\n")),
            431);
}

TEST(Limits, HalfARequestIsDroppedAtTheHandshakeTimeout) {
  ServerProcess server({"--handshake-timeout-ms", "300"});
  RawWsClient c(server.port());
  auto started = std::chrono::steady_clock::now();
  c.send("GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n");
  EXPECT_TRUE(c.ended(std::chrono::seconds(5)));
  auto waited = std::chrono::steady_clock::now() - started;
  EXPECT_GE(waited, std::chrono::milliseconds(250));
  EXPECT_EQ(metric(server.port(), limit_hits("handshake_timeout")), 1);
  // A connection that sends nothing at all is dropped alike.
  RawWsClient silent(server.port());
  EXPECT_TRUE(silent.ended(std::chrono::seconds(5)));
  EXPECT_EQ(metric(server.port(), limit_hits("handshake_timeout")), 2);
}

TEST(Limits, AFinishedHandshakeIsNotDroppedByTheHandshakeTimeout) {
  ServerProcess server({"--handshake-timeout-ms", "100"});
  RawWsClient c(server.port());
  ASSERT_EQ(c.upgrade(), 101);
  ASSERT_TRUE(c.read_frame().has_value());  // welcome
  EXPECT_FALSE(c.ended(std::chrono::milliseconds(400)));
  c.send(make_frame(kText, kPingRequest));
  auto pong = c.read_frame();
  ASSERT_TRUE(pong.has_value());
  EXPECT_NE(pong->payload.find("pong"), std::string::npos);
}

TEST(Limits, MessageOverTheLimitIs1009AndCounted) {
  ServerProcess server({"--max-message-bytes", "1024"});
  RawWsClient c(server.port());
  ASSERT_EQ(c.upgrade(), 101);
  c.send(make_frame(kText, std::string(1025, ' ')));
  auto close = c.read_until_close();
  ASSERT_TRUE(close.has_value());
  EXPECT_EQ(close->close_code(), 1009);
  EXPECT_TRUE(eventually([&] { return metric(server.port(), limit_hits("message_bytes")) == 1; }));
  EXPECT_EQ(metric(server.port(), "loopchat_closes_total{code=\"1009\"}"), 1);
}

TEST(Limits, RateLimitIsCounted) {
  ServerProcess server({"--rate", "1", "--burst", "2"});
  RawWsClient c(server.port());
  ASSERT_EQ(c.upgrade(), 101);
  std::string bytes = make_frame(kText, R"({"type":"join","room":"r"})");
  for (int i = 0; i < 5; ++i) bytes += make_frame(kText, R"({"type":"say","room":"r","text":"x"})");
  c.send(bytes);
  int limited = 0;
  for (int i = 0; i < 1 + 1 + 5; ++i) {  // welcome, joined, then 2 messages and 3 errors
    auto frame = c.read_frame();
    ASSERT_TRUE(frame.has_value());
    if (frame->payload.find("rate_limited") != std::string::npos) ++limited;
  }
  EXPECT_EQ(limited, 3);
  EXPECT_EQ(metric(server.port(), limit_hits("rate")), 3);
}

TEST(Limits, UnansweredPingsClose1001AndAreCounted) {
  ServerProcess server({"--ping-interval-ms", "100", "--ping-timeout-ms", "200"});
  RawWsClient deaf(server.port()), alive(server.port());
  ASSERT_EQ(deaf.upgrade(), 101);
  ASSERT_EQ(alive.upgrade(), 101);
  // `alive` answers every ping; `deaf` reads them and never answers.
  int pongs_sent = 0;
  for (;;) {
    auto frame = alive.read_frame();
    ASSERT_TRUE(frame.has_value());
    if (frame->opcode != kPing) continue;
    alive.send(make_frame(0xA, frame->payload));
    if (++pongs_sent == 3) break;
  }
  auto close = deaf.read_until_close();
  ASSERT_TRUE(close.has_value());
  EXPECT_EQ(close->close_code(), 1001);
  EXPECT_EQ(metric(server.port(), limit_hits("ping_timeout")), 1);
  alive.send(make_frame(kText, kPingRequest));
  for (;;) {  // still served (pings may come first)
    auto frame = alive.read_frame();
    ASSERT_TRUE(frame.has_value());
    if (frame->opcode == kText) {
      EXPECT_NE(frame->payload.find("pong"), std::string::npos) << frame->payload;
      break;
    }
    if (frame->opcode == kClose) FAIL() << "the answering client was closed";
  }
}

}  // namespace
}  // namespace loopchat::test
