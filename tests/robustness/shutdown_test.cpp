// Graceful shutdown under load, and a clean exit: no leak or sanitizer
// report from the server process (in the sanitizer build, where
// LeakSanitizer runs at exit, a leak makes the exit status non-zero).
#include <gtest/gtest.h>
#include <signal.h>

#include <memory>

#include "tests/robustness/metrics_probe.hpp"
#include "tests/robustness/raw_ws.hpp"
#include "tests/support/chat_client.hpp"
#include "tests/support/server_process.hpp"

namespace loopchat::test {
namespace {

TEST(Shutdown, SigtermWithFiveThousandClientsSends1001ToEachAndExitsZeroInTime) {
  constexpr int kClients = 5000;
  constexpr auto kDrain = std::chrono::milliseconds(10000);
  ServerProcess server({"--quiet", "--drain-timeout-ms", std::to_string(kDrain.count())});
  std::chrono::steady_clock::time_point signalled;
  int got_1001 = 0, other = 0;
  run_async(
      [&]() -> asio::awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        client::WsClientConfig small;
        small.read_chunk_bytes = 4096;
        std::vector<std::unique_ptr<ChatClient>> clients;
        for (int i = 0; i < kClients; ++i) {
          clients.push_back(std::make_unique<ChatClient>(ex, small));
          co_await clients.back()->connect(server.port());
          if (i % 10 == 0) clients.back()->send({{"type", "join"}, {"room", "all"}});
        }
        CO_REQUIRE(metric(server.port(), "loopchat_connections") == kClients);
        signalled = std::chrono::steady_clock::now();
        server.signal(SIGTERM);
        // Every client reads (and answers) its close at once.
        int pending = kClients;
        for (auto& c : clients)
          asio::co_spawn(
              ex,
              [&, client = c.get()]() -> asio::awaitable<void> {
                try {
                  (co_await client->expect_close() == 1001 ? got_1001 : other)++;
                } catch (const std::exception&) {
                  ++other;
                }
                --pending;
              },
              asio::detached);
        CO_REQUIRE(co_await co_eventually([&] { return pending == 0; }, kDrain));
      },
      std::chrono::seconds(55));
  EXPECT_EQ(got_1001, kClients);
  EXPECT_EQ(other, 0);
  auto status = server.wait_exit(std::chrono::seconds(5));
  auto took = std::chrono::steady_clock::now() - signalled;
  ASSERT_TRUE(status.has_value()) << "still running after the drain timeout";
  EXPECT_EQ(*status, 0);
  EXPECT_LT(took, kDrain) << "exited only when the drain timeout forced it";
  EXPECT_EQ(server.log().find("drain timeout"), std::string::npos) << server.log();
}

TEST(Shutdown, ServerExitsCleanlyWithNoLeakOrSanitizerReport) {
  ServerProcess server({"--ping-interval-ms", "50", "--handshake-timeout-ms", "2000"});
  run_async([&]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    // Something of everything still in flight at SIGTERM: members of rooms,
    // history, pending reminders, a half-done handshake, a reset client,
    // a failed connection, a plain HTTP request.
    std::vector<std::unique_ptr<ChatClient>> clients;
    for (int i = 0; i < 20; ++i) {
      clients.push_back(std::make_unique<ChatClient>(ex));
      auto& c = *clients.back();
      co_await c.connect(server.port());
      co_await c.join("room" + std::to_string(i % 3));
      c.send({{"type", "say"}, {"room", "room" + std::to_string(i % 3)}, {"text", "hello"}});
      c.send({{"type", "remind"}, {"after_ms", 60000}, {"text", "later"}});
      co_await c.wait_for("message");
    }
    clients.back()->ws().abort();
    clients.pop_back();
    RawWsClient half(server.port());
    half.send("GET /ws HTTP/1.1\r\nHost: x\r\n");
    RawWsClient failed(server.port());
    CO_REQUIRE(failed.upgrade() == 101);
    failed.send(make_frame(0x1, "x", true, false));  // unmasked: 1002
    CO_REQUIRE(http_get(server.port(), "/metrics").status == 200);
    CO_REQUIRE(co_await co_eventually(
        [&] { return metric(server.port(), "loopchat_reminders_pending") == 19; }));
    server.signal(SIGTERM);
    for (auto& c : clients) CO_REQUIRE(co_await c->expect_close() == 1001);
  });
  auto status = server.wait_exit(std::chrono::seconds(10));
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(*status, 0) << server.log();
  std::string log = server.log();
  for (const char* report : {"LeakSanitizer", "AddressSanitizer", "runtime error:"})
    EXPECT_EQ(log.find(report), std::string::npos) << report << " in the server's log:\n" << log;
}

}  // namespace
}  // namespace loopchat::test
