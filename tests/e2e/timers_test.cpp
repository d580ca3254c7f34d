// Timers on the server's loop: reminders, the heartbeat, the handshake
// timeout, the say rate limit, the loop-lag figures.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <random>

#include "tests/support/chat_client.hpp"
#include "tests/support/server_process.hpp"

namespace loopchat::test {
namespace {

using Clock = std::chrono::steady_clock;

// Waits, on the test's loop, until `condition` holds; throws after `timeout`.
asio::awaitable<void> wait_until(const std::function<bool()>& condition,
                                 std::chrono::milliseconds timeout, const std::string& what) {
  auto deadline = Clock::now() + timeout;
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (!condition()) {
    if (Clock::now() > deadline) throw TestFailure("timed out waiting for " + what);
    timer.expires_after(std::chrono::milliseconds(10));
    co_await timer.async_wait(asio::use_awaitable);
  }
}

std::string metric_line(std::uint16_t port, const std::string& name) {
  std::string body = http_get(port, "/metrics").body;
  auto at = body.find("\n" + name + " ");
  if (at == std::string::npos) return "";
  auto end = body.find('\n', at + 1);
  return body.substr(at + 1 + name.size() + 1, end - at - name.size() - 2);
}

TEST(Reminders, AThousandFireInDueOrderNoneEarly) {
  ServerProcess server({"--max-timers-per-client", "1000"});
  run_async([&]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    ChatClient c(ex);
    co_await c.connect(server.port());
    constexpr int kReminders = 1000;
    std::vector<int> after(kReminders);
    for (int i = 0; i < kReminders; ++i) after[i] = 2 * i;  // 0 .. 1998 ms
    std::shuffle(after.begin(), after.end(), std::mt19937(42));
    std::vector<Clock::time_point> sent(kReminders);
    for (int i = 0; i < kReminders; ++i) {
      sent[i] = Clock::now();
      c.send({{"type", "remind"}, {"after_ms", after[i]}, {"text", "r"}, {"id", i}});
    }
    EXPECT_EQ(server.thread_count(), 1);
    // The server handles one connection's requests in order, so a reminder
    // sent later with a longer delay is due strictly later: it must fire
    // after every earlier-sent reminder with a shorter delay.
    std::vector<bool> arrived(kReminders, false);
    for (int k = 0; k < kReminders; ++k) {
      json r = co_await c.expect("reminder");
      auto now = Clock::now();
      int j = r["id"].get<int>();
      EXPECT_GE(now, sent[j] + std::chrono::milliseconds(after[j])) << "reminder " << j << " early";
      EXPECT_GE(r["late_ms"].get<std::int64_t>(), 0);
      EXPECT_EQ(r["text"], "r");
      for (int i = 0; i < j; ++i)
        if (after[i] < after[j] && !arrived[i]) {
          ADD_FAILURE() << "reminder " << j << " (" << after[j] << " ms) fired before " << i << " ("
                        << after[i] << " ms)";
          break;
        }
      arrived[j] = true;
    }
  });
}

TEST(Reminders, PerClientLimitAndTheyDieWithTheirConnection) {
  ServerProcess server({"--max-timers-per-client", "3"});
  run_async([&]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    auto c = std::make_unique<ChatClient>(ex);
    co_await c->connect(server.port());
    for (int i = 0; i < 3; ++i)
      c->send({{"type", "remind"}, {"after_ms", 60000}, {"text", "later"}});
    c->send({{"type", "remind"}, {"after_ms", 60000}, {"text", "one too many"}, {"id", "x"}});
    json e = co_await c->expect_error("too_many_timers");
    EXPECT_EQ(e["id"], "x");
    c->send({{"type", "remind"}, {"after_ms", -1}, {"text", "t"}});
    co_await c->expect_error("bad_request");
    EXPECT_EQ(metric_line(server.port(), "loopchat_reminders_pending"), "3");

    c->ws().abort();
    c.reset();
    co_await wait_until(
        [&] { return metric_line(server.port(), "loopchat_reminders_pending") == "0"; },
        std::chrono::seconds(5), "the reminders of a closed connection to be freed");
  });
}

TEST(Heartbeat, AClientThatIgnoresPingsIsClosedOthersStay) {
  ServerProcess server(
      {"--ping-interval-ms", "100", "--ping-timeout-ms", "100", "--handshake-timeout-ms", "50"});
  run_async([&]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    client::WsClientConfig deaf;
    deaf.auto_pong = false;
    ChatClient silent(ex, deaf), alive(ex);
    co_await silent.connect(server.port());
    co_await alive.connect(server.port());
    // The answering client keeps reading (WsClient answers pings as it
    // reads) and requesting, for as long as the other one takes to be closed
    // and it has seen three pings.
    bool silent_closed = false, alive_done = false;
    asio::co_spawn(
        ex,
        [&]() -> asio::awaitable<void> {
          asio::steady_timer pause(ex);
          while (!silent_closed || alive.ws().pings_received() < 3) {
            alive.send({{"type", "ping"}});
            co_await alive.expect("pong");
            pause.expires_after(std::chrono::milliseconds(20));
            co_await pause.async_wait(asio::use_awaitable);
          }
          alive_done = true;
        },
        asio::detached);
    auto started = Clock::now();
    EXPECT_EQ(co_await silent.expect_close(), 1001);
    silent_closed = true;
    EXPECT_GE(silent.ws().pings_received(), 1u);
    EXPECT_GE(Clock::now() - started, std::chrono::milliseconds(100));
    co_await wait_until([&] { return alive_done; }, std::chrono::seconds(5),
                        "the answering client to see three pings");
  });
  EXPECT_NE(server.log().find("no pong"), std::string::npos);
}

TEST(Heartbeat, AnUnfinishedHandshakeIsDropped) {
  ServerProcess server({"--handshake-timeout-ms", "200"});
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(server.port());
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  std::string half = "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n";
  ASSERT_EQ(::send(fd, half.data(), half.size(), 0), static_cast<ssize_t>(half.size()));
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  auto started = Clock::now();
  char byte;
  ssize_t n = ::recv(fd, &byte, 1, 0);  // the server's close: 0 (EOF) or a reset
  auto waited = Clock::now() - started;
  ::close(fd);
  EXPECT_LE(n, 0);
  EXPECT_GE(waited, std::chrono::milliseconds(150));
  EXPECT_LT(waited, std::chrono::seconds(4)) << "not dropped: recv timed out";
  EXPECT_NE(server.log().find("handshake not finished"), std::string::npos);
}

TEST(RateLimit, SayBeyondTheBucketIsRefusedNotQueued) {
  ServerProcess server({"--rate", "1", "--burst", "5"});
  run_async([&]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    ChatClient c(ex);
    co_await c.connect(server.port());
    co_await c.join("r");
    for (int i = 0; i < 10; ++i) c.send({{"type", "say"}, {"room", "r"}, {"text", "x"}, {"id", i}});
    int messages = 0, limited = 0;
    for (int i = 0; i < 10; ++i) {
      json frame = co_await c.next();
      if (frame["type"] == "message") ++messages;
      if (frame["type"] == "error" && frame["code"] == "rate_limited") ++limited;
    }
    EXPECT_EQ(messages, 5);
    EXPECT_EQ(limited, 5);
    // Other requests are not limited.
    c.send({{"type", "ping"}});
    co_await c.expect("pong");
  });
}

TEST(LoopLag, StatsAndMetricsReportIt) {
  ServerProcess server;
  run_async([&]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    ChatClient c(ex);
    co_await c.connect(server.port());
    // The monitor samples every 10 ms: ask until its window holds samples.
    json s;
    auto deadline = Clock::now() + std::chrono::seconds(5);
    asio::steady_timer pause(ex);
    do {
      c.send({{"type", "stats"}, {"id", "s"}});
      s = co_await c.expect("stats");
      pause.expires_after(std::chrono::milliseconds(20));
      co_await pause.async_wait(asio::use_awaitable);
    } while (s["loop_lag_ms"]["max"].get<double>() == 0.0 && Clock::now() < deadline);
    EXPECT_EQ(s["id"], "s");
    EXPECT_EQ(s["connections"], 1);
    for (const char* q : {"p50", "p99", "max"}) {
      EXPECT_TRUE(s["loop_lag_ms"][q].is_number()) << q;
      EXPECT_GE(s["loop_lag_ms"][q].get<double>(), 0.0);
    }
    EXPECT_LE(s["loop_lag_ms"]["p50"].get<double>(), s["loop_lag_ms"]["max"].get<double>());
    EXPECT_GT(s["loop_lag_ms"]["max"].get<double>(), 0.0);  // waking is never exactly on time
    EXPECT_GT(s["rss_bytes"].get<std::uint64_t>(), 0u);
  });
  EXPECT_NE(
      http_get(server.port(), "/metrics").body.find("loopchat_loop_lag_ms{quantile=\"0.99\"}"),
      std::string::npos);
}

}  // namespace
}  // namespace loopchat::test
