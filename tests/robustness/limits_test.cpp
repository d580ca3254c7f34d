// Each limit of issue 6 against the real binary: what the client sees when it
// passes it, that others are unaffected, and its counter in /metrics.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

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

// ------------------------------------------------- the costs of requests

using json = nlohmann::json;

// The text frames read until a pong, parsed (a ping sent after a batch of
// requests marks the end of their answers).
std::vector<json> answers_until_pong(RawWsClient& c) {
  std::vector<json> out;
  for (;;) {
    auto frame = c.read_frame();
    if (!frame) throw std::runtime_error("connection ended before the pong");
    if (frame->opcode != kText) continue;
    json event = json::parse(frame->payload);
    if (event["type"] == "pong") return out;
    out.push_back(std::move(event));
  }
}

std::vector<json> of_type(const std::vector<json>& events, const std::string& type) {
  std::vector<json> out;
  for (const json& e : events)
    if (e["type"] == type) out.push_back(e);
  return out;
}

std::string request(const json& body) {
  return make_frame(kText, body.dump());
}

TEST(Limits, AnyRequestBeyondTheBudgetIsRefusedUnreadAndAClientThatGoesOnIsClosed1008) {
  ServerProcess server;  // default budget: 2,000,000 units a second, bursts of 4,000,000
  RawWsClient flooder(server.port()), other(server.port());
  ASSERT_EQ(flooder.upgrade(), 101);
  ASSERT_EQ(other.upgrade(), 101);
  // Pings of 60 KB cost their bytes: about 66 fit in the burst. Only `say`
  // had a limit before; these are all answered.
  std::string ping = request({{"type", "ping"}, {"pad", std::string(60000, 'p')}});
  try {
    for (int i = 0; i < 300; ++i) flooder.send(ping);  // without reading
  } catch (const std::runtime_error&) {
    // The server closed the connection: the rest was not wanted.
  }
  int pongs = 0, refused = 0;
  std::optional<RawFrame> close;
  while (auto frame = flooder.read_frame()) {
    if (frame->opcode == kClose) {
      close = frame;
      break;
    }
    if (frame->opcode != kText) continue;
    json event = json::parse(frame->payload);
    if (event["type"] == "pong") ++pongs;
    if (event["type"] == "error") {
      EXPECT_EQ(event["code"], "rate_limited") << frame->payload;
      EXPECT_FALSE(event.contains("id")) << "refused unread";
      ++refused;
    }
  }
  EXPECT_GT(pongs, 40);
  EXPECT_LT(pongs, 150);  // 66 in the burst, more if the loop waited on us
  EXPECT_GE(refused, 100) << "--max-refused-requests (100) in a row are answered";
  ASSERT_TRUE(close.has_value());
  EXPECT_EQ(close->close_code(), 1008);
  EXPECT_EQ(close->close_reason(), "over the request budget");
  EXPECT_EQ(metric(server.port(), limit_hits("over_budget")), 1);
  EXPECT_GE(metric(server.port(), limit_hits("request_budget")), 101);
  // Another connection has a budget of its own.
  ASSERT_TRUE(other.read_frame().has_value());  // welcome
  other.send(ping);
  auto pong = other.read_frame();
  ASSERT_TRUE(pong.has_value());
  EXPECT_NE(pong->payload.find("\"pong\""), std::string::npos) << pong->payload;
}

TEST(Limits, PendingReminderBytesAreBoundedServerWide) {
  ServerProcess server({"--max-reminder-bytes", "50000"});
  RawWsClient a(server.port()), b(server.port());
  ASSERT_EQ(a.upgrade(), 101);
  ASSERT_EQ(b.upgrade(), 101);
  std::string remind =
      request({{"type", "remind"}, {"after_ms", 600000}, {"text", std::string(10000, 'r')}});
  std::string ping = request({{"type", "ping"}});
  // Four of 10,000 bytes fit in 50,000 (with their entries), a fifth does not.
  std::string five;
  for (int i = 0; i < 5; ++i) five += remind;
  a.send(five + ping);
  std::vector<json> errors = of_type(answers_until_pong(a), "error");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0]["code"], "server_busy");
  // The bound is the server's, not a's.
  b.send(remind + ping);
  errors = of_type(answers_until_pong(b), "error");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0]["code"], "server_busy");
  EXPECT_EQ(metric(server.port(), "loopchat_reminders_pending"), 4);
  auto held = metric(server.port(), "loopchat_reminder_bytes");
  ASSERT_TRUE(held.has_value());
  EXPECT_GT(*held, 40000);
  EXPECT_LE(*held, 50000);
  EXPECT_EQ(metric(server.port(), limit_hits("reminder_bytes")), 2);
  // Room again once a's reminders end with it.
  a.reset();
  EXPECT_TRUE(eventually([&] { return metric(server.port(), "loopchat_reminder_bytes") == 0; }));
  b.send(remind + ping);
  EXPECT_TRUE(of_type(answers_until_pong(b), "error").empty());
  EXPECT_EQ(metric(server.port(), "loopchat_reminders_pending"), 1);
}

// The seqs of a history answer.
std::vector<std::uint64_t> seqs_of(const json& history) {
  std::vector<std::uint64_t> out;
  for (const json& m : history["messages"]) out.push_back(m["seq"].get<std::uint64_t>());
  return out;
}

// In memory: with a store, what the bound drops is still read from disk.
TEST(Limits, HistoryBytesAreBoundedServerWideLeastRecentlyPostedFirst) {
  ServerProcess server(
      {"--max-history-bytes", "100000", "--rate", "1000", "--burst", "1000", "--memory-only"});
  RawWsClient c(server.port());
  ASSERT_EQ(c.upgrade(), 101);
  std::string text(4000, 'h');
  auto say_in = [&](const std::string& room, int count) {
    std::string bytes;
    for (int i = 0; i < count; ++i)
      bytes += request({{"type", "say"}, {"room", room}, {"text", text}});
    return bytes;
  };
  auto history = [&](const std::string& room) {
    c.send(request({{"type", "history"}, {"room", room}, {"limit", 100}}) +
           request({{"type", "ping"}}));
    std::vector<json> answers = of_type(answers_until_pong(c), "history");
    if (answers.size() != 1) throw std::runtime_error("no history answer");
    return answers[0];
  };
  // 20 messages of 4 KB (80 KB) in a room left empty, then 20 in another:
  // over 100,000 bytes, the room posted to least recently loses its oldest.
  c.send(request({{"type", "join"}, {"room", "old"}}) + say_in("old", 20) +
         request({{"type", "leave"}, {"room", "old"}}) +
         request({{"type", "join"}, {"room", "new"}}) + say_in("new", 20) +
         request({{"type", "ping"}}));
  EXPECT_TRUE(of_type(answers_until_pong(c), "error").empty());
  std::vector<std::uint64_t> old_kept = seqs_of(history("old"));
  ASSERT_FALSE(old_kept.empty());
  EXPECT_GT(old_kept.front(), 1u);
  EXPECT_EQ(old_kept.back(), 20u);
  EXPECT_EQ(seqs_of(history("new")).size(), 20u);
  EXPECT_EQ(metric(server.port(), limit_hits("history_bytes")), old_kept.front() - 1);
  auto held = metric(server.port(), "loopchat_history_bytes");
  ASSERT_TRUE(held.has_value());
  EXPECT_GT(*held, 80000);
  EXPECT_LE(*held, 100000);

  // Then the old room's history is gone, the room in use loses its oldest
  // messages, and the total keeps under the bound.
  c.send(say_in("new", 10) + request({{"type", "ping"}}));
  answers_until_pong(c);
  std::vector<std::uint64_t> kept = seqs_of(history("new"));
  ASSERT_FALSE(kept.empty());
  EXPECT_GT(kept.front(), 1u);
  EXPECT_EQ(kept.back(), 30u);
  EXPECT_EQ(kept.size(), 30 - kept.front() + 1) << "contiguous";
  EXPECT_TRUE(history("old")["messages"].empty());
  EXPECT_EQ(metric(server.port(), limit_hits("history_bytes")), 20 + kept.front() - 1);
  EXPECT_LE(metric(server.port(), "loopchat_history_bytes"), 100000);
}

}  // namespace
}  // namespace loopchat::test
