// 2,000 concurrent connections in one room on the one server thread: every
// client receives every message of three senders, in seq order, and the room
// fills without a presence storm (join presence only up to 100 members).
#include <gtest/gtest.h>

#include "tests/support/chat_client.hpp"
#include "tests/support/server_process.hpp"

namespace loopchat::test {
namespace {

constexpr int kClients = 2000;
constexpr int kSenders = 3;
constexpr int kMessagesPerSender = 20;

TEST(Scale, TwoThousandClientsOneRoomOneThread) {
  ServerProcess server({"--quiet"});
  EXPECT_EQ(server.thread_count(), 1);
  run_async(
      [&]() -> asio::awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        client::WsClientConfig small;
        small.read_chunk_bytes = 16 * 1024;
        std::vector<std::unique_ptr<ChatClient>> clients;
        for (int i = 0; i < kClients; ++i) {
          clients.push_back(std::make_unique<ChatClient>(ex, small));
          co_await clients.back()->connect(server.port());
        }
        // All joins at once. Only the first 100 are announced
        // (--presence-max-members): 5,050 presence frames, not 2,000²/2.
        for (auto& c : clients) c->send({{"type", "join"}, {"room", "big"}});
        // Each client: its joined, then presence of those after it, if any.
        for (int i = 0; i < kClients; ++i) co_await clients[i]->expect("joined");
        EXPECT_EQ(server.thread_count(), 1);

        for (int n = 0; n < kMessagesPerSender; ++n)
          for (int s = 0; s < kSenders; ++s)
            clients[s]->send({{"type", "say"}, {"room", "big"}, {"text", std::to_string(n)}});

        // Every client reads concurrently: one coroutine each.
        int finished = 0;
        std::uint64_t presence = 0;
        std::vector<std::string> failures;
        for (int i = 0; i < kClients; ++i) {
          asio::co_spawn(
              ex,
              [&, i]() -> asio::awaitable<void> {
                std::uint64_t expected = 1;
                while (expected <= kSenders * kMessagesPerSender) {
                  json frame = co_await clients[i]->next();
                  if (frame["type"] == "presence") ++presence;  // of later joiners
                  if (frame["type"] != "message") continue;
                  if (frame["seq"].get<std::uint64_t>() != expected)
                    throw TestFailure("client " + std::to_string(i) + " got seq " +
                                      frame["seq"].dump() + ", expected " +
                                      std::to_string(expected));
                  ++expected;
                }
              },
              [&](std::exception_ptr e) {
                ++finished;
                if (e) try {
                    std::rethrow_exception(e);
                  } catch (const std::exception& x) {
                    failures.push_back(x.what());
                  }
              });
        }
        asio::steady_timer check(ex);
        while (finished < kClients) {
          // Sample the thread count while deliveries are in flight.
          EXPECT_EQ(server.thread_count(), 1);
          check.expires_after(std::chrono::milliseconds(50));
          co_await check.async_wait(asio::use_awaitable);
        }
        EXPECT_TRUE(failures.empty())
            << failures.size()
            << " clients failed, first: " << (failures.empty() ? "" : failures.front());
        EXPECT_EQ(presence, 100u * 101 / 2);
        std::string metrics = http_get(server.port(), "/metrics").body;
        EXPECT_NE(metrics.find("loopchat_connections 2000\n"), std::string::npos);
        EXPECT_NE(metrics.find("loopchat_messages_out_total " +
                               std::to_string(kClients * kSenders * kMessagesPerSender) + "\n"),
                  std::string::npos);
      },
      std::chrono::seconds(120));
  EXPECT_EQ(server.thread_count(), 1);
}

}  // namespace
}  // namespace loopchat::test
