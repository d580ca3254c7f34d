// Shutdown and slow consumers: the server's own closes.
#include <gtest/gtest.h>
#include <signal.h>

#include "tests/support/chat_client.hpp"
#include "tests/support/server_process.hpp"

namespace loopchat::test {
namespace {

TEST(Options, HelpListsEveryLimitAndBadOptionsExitWith2) {
  CommandResult help = run_command({LOOPCHAT_SERVER_BIN, "--help"});
  EXPECT_EQ(help.exit_code, 0);
  for (const char* option : {"--bind",
                             "--port",
                             "--quiet",
                             "--max-connections",
                             "--max-message-bytes",
                             "--max-queue-bytes",
                             "--max-text-chars",
                             "--history",
                             "--ping-interval-ms",
                             "--ping-timeout-ms",
                             "--handshake-timeout-ms",
                             "--max-timers-per-client",
                             "--rate",
                             "--burst",
                             "--fetch-timeout-ms",
                             "--fetch-max-bytes",
                             "--fetch-max-redirects",
                             "--max-fetches",
                             "--max-fetches-per-client",
                             "--fetch-allow",
                             "--drain-timeout-ms",
                             "--log-lines-per-second",
                             "--log-buffer-bytes"})
    EXPECT_NE(help.out.find(option), std::string::npos) << option;
  EXPECT_NE(help.out.find("1048576"), std::string::npos) << "defaults are shown";

  for (std::vector<std::string> bad : {std::vector<std::string>{"--bogus"},
                                       {"--port", "http"},
                                       {"--port", "70000"},
                                       {"--fetch-allow", "10.0.0.0/33"},
                                       {"--max-queue-bytes", "-5"},
                                       {"extra"}}) {
    bad.insert(bad.begin(), LOOPCHAT_SERVER_BIN);
    CommandResult result = run_command(bad);
    EXPECT_EQ(result.exit_code, 2) << bad[1];
    EXPECT_FALSE(result.err.empty()) << bad[1] << ": no message";
  }
  CommandResult taken =
      run_command({LOOPCHAT_SERVER_BIN, "--bind", "203.0.113.1", "--port", "0", "--memory-only"});
  EXPECT_EQ(taken.exit_code, 1);
  EXPECT_NE(taken.err.find("cannot serve"), std::string::npos) << taken.err;
}

TEST(Lifecycle, SigtermSends1001ToEveryClientAndExitsZero) {
  ServerProcess server;
  run_async([&]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    std::vector<std::unique_ptr<ChatClient>> clients;
    for (int i = 0; i < 20; ++i) {
      clients.push_back(std::make_unique<ChatClient>(ex));
      co_await clients.back()->connect(server.port());
      co_await clients.back()->join("bye");
    }
    server.signal(SIGTERM);
    for (auto& c : clients) EXPECT_EQ(co_await c->expect_close(), 1001);
  });
  auto status = server.wait_exit(std::chrono::seconds(2));
  ASSERT_TRUE(status.has_value()) << "server still running 2 s after SIGTERM";
  EXPECT_EQ(*status, 0);
}

// Clients that ignore the close: tests/robustness/shutdown_test.cpp, with a raw client.

TEST(Lifecycle, SlowConsumerIsClosedWith1008AndOthersKeepGoing) {
  ServerProcess server({"--max-queue-bytes", "262144", "--close-timeout-ms", "200", "--rate",
                        "100000", "--burst", "100000"});
  run_async([&]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    client::WsClientConfig tiny_buffer;
    tiny_buffer.socket_receive_buffer_bytes = 4096;
    ChatClient sender(ex), sleeper(ex, tiny_buffer), reader(ex);
    co_await sender.connect(server.port());
    co_await sleeper.connect(server.port());
    co_await reader.connect(server.port());
    co_await sender.join("flood");
    co_await sleeper.join("flood");
    co_await reader.join("flood");
    // The sleeper never reads from here on: its small kernel buffers fill,
    // then its queue on the server passes 256 KiB.
    std::string text(4000, 'x');
    constexpr int kMessages = 2500;  // 10 MB: beyond the kernel buffers (~4 MB) and the queue
    int sender_got = 0, reader_got = 0;
    for (int i = 0; i < kMessages; ++i) {
      sender.send({{"type", "say"}, {"room", "flood"}, {"text", text}});
      // The sender and the reader keep up (a window of 10), the sleeper never reads.
      for (; sender_got < i - 10; ++sender_got) co_await sender.wait_for("message");
      for (; reader_got < i - 10; ++reader_got) co_await reader.wait_for("message");
    }
    for (; sender_got < kMessages; ++sender_got) co_await sender.wait_for("message");
    for (; reader_got < kMessages; ++reader_got) co_await reader.wait_for("message");
    // The sleeper finally reads: its stream ends with the 1008 close, or is
    // cut when it did not answer the close in time.
    std::uint16_t code = 0;
    int backlog = 0;
    for (;;) {
      client::WsMessage m = co_await sleeper.ws().receive();
      if (m.kind == client::WsMessage::Kind::text) ++backlog;
      if (m.kind == client::WsMessage::Kind::close) code = m.close_code;
      if (m.kind == client::WsMessage::Kind::error) break;
    }
    EXPECT_TRUE(code == 1008 || code == 0) << code;
    EXPECT_LT(backlog, kMessages);  // the rest of its queue was dropped, not kept
    std::string metrics = http_get(server.port(), "/metrics").body;
    EXPECT_NE(metrics.find("loopchat_closes_total{code=\"1008\"} 1"), std::string::npos) << metrics;
    EXPECT_NE(metrics.find("loopchat_connections 2\n"), std::string::npos);
    EXPECT_NE(server.log().find("slow consumer"), std::string::npos);
  });
}

}  // namespace
}  // namespace loopchat::test
