// Graceful shutdown under load, and a clean exit: no leak or sanitizer
// report from the server process (in the sanitizer build, where
// LeakSanitizer runs at exit, a leak makes the exit status non-zero).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <memory>
#include <sstream>

#include "tests/robustness/metrics_probe.hpp"
#include "tests/robustness/raw_ws.hpp"
#include "tests/support/chat_client.hpp"
#include "tests/support/server_process.hpp"

extern char** environ;

namespace loopchat::test {
namespace {

// loopchat-load running in the background, its output discarded; killed
// when the object goes.
class LoadGenerator {
 public:
  explicit LoadGenerator(std::vector<std::string> args) {
    args.insert(args.begin(), LOOPCHAT_LOAD_BIN);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t files;
    posix_spawn_file_actions_init(&files);
    posix_spawn_file_actions_addopen(&files, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&files, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    int failed = posix_spawn(&pid_, argv[0], &files, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&files);
    if (failed != 0) throw std::runtime_error("cannot start loopchat-load");
  }
  ~LoadGenerator() {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  LoadGenerator(const LoadGenerator&) = delete;
  LoadGenerator& operator=(const LoadGenerator&) = delete;

 private:
  pid_t pid_ = -1;
};

// Issue 9: under full chat load, SIGTERM sometimes never ended the process
// (a timer re-armed after stop()). 1,000 clients in rooms of 100, 100 senders
// at 100 messages a second: 1M deliveries a second offered, more than the
// server can do. Every round must exit 0 within the drain timeout plus 1 s.
TEST(Shutdown, SigtermUnderFullChatLoadExitsZeroInTimeTwentyTimesInARow) {
  constexpr int kRounds = 20, kClients = 1000;
  constexpr auto kDrain = std::chrono::milliseconds(500);
  constexpr auto kLoadTime = std::chrono::milliseconds(1000);  // before the signal
  std::vector<std::string> failures;
  for (int round = 0; round < kRounds; ++round) {
    ServerProcess server({"--quiet", "--drain-timeout-ms", std::to_string(kDrain.count()), "--rate",
                          "1000", "--burst", "1000"});
    LoadGenerator load({"--url", server.url(), "--clients", std::to_string(kClients), "--rooms",
                        "10", "--senders", "100", "--rate", "100", "--duration", "120",
                        "--probe-interval-ms", "0", "--quiet"});
    ASSERT_TRUE(
        eventually([&] { return metric(server.port(), "loopchat_connections") == kClients; },
                   std::chrono::seconds(30)))
        << "round " << round << ": the clients did not connect";
    // The senders start once every client has joined: wait for their first
    // deliveries, then let the load run (an overloaded server may not answer
    // /metrics for seconds, so its counters cannot pace this).
    double start = metric(server.port(), "loopchat_messages_out_total").value_or(0);
    ASSERT_TRUE(eventually(
        [&] {
          return metric(server.port(), "loopchat_messages_out_total").value_or(0) > start + 1000;
        },
        std::chrono::seconds(30)))
        << "round " << round << ": no load";
    ::poll(nullptr, 0, static_cast<int>(kLoadTime.count()));
    auto signalled = std::chrono::steady_clock::now();
    server.signal(SIGTERM);
    auto status = server.wait_exit(kDrain + std::chrono::seconds(1));
    std::string name = "round " + std::to_string(round) + ": ";
    if (!status) {
      // How late, for the report: or whether it would ever have ended.
      status = server.wait_exit(std::chrono::seconds(10));
      auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::steady_clock::now() - signalled);
      failures.push_back(name + (status ? "exited " + std::to_string(took.count()) +
                                              " ms after SIGTERM, status " + std::to_string(*status)
                                        : "still running 11 s after SIGTERM"));
    } else if (*status != 0) {
      failures.push_back(name + "exit status " + std::to_string(*status));
    }
  }
  std::ostringstream all;
  for (const auto& f : failures) all << f << "\n";
  EXPECT_TRUE(failures.empty()) << failures.size() << " of " << kRounds << " rounds failed:\n"
                                << all.str();
}

TEST(Lifecycle, ClientsThatIgnoreTheCloseAreDroppedWithinTheDrainTimeout) {
  constexpr auto kDrain = std::chrono::milliseconds(300);
  ServerProcess server(
      {"--drain-timeout-ms", std::to_string(kDrain.count()), "--close-timeout-ms", "5000"});
  RawWsClient ignorer(server.port());
  ASSERT_EQ(ignorer.upgrade(), 101);
  auto signalled = std::chrono::steady_clock::now();
  server.signal(SIGINT);
  // It reads the server's close frame, never answers it and keeps its socket open.
  auto close = ignorer.read_until_close(std::chrono::seconds(2));
  ASSERT_TRUE(close.has_value()) << "no close frame";
  EXPECT_EQ(close->close_code(), 1001);
  // The drain timeout, not the 5 s close timeout, ends it.
  EXPECT_TRUE(ignorer.ended(std::chrono::seconds(2))) << "still connected 2 s after the close";
  EXPECT_GE(std::chrono::steady_clock::now() - signalled, kDrain) << "dropped before its time";
  auto status = server.wait_exit(std::chrono::seconds(2));
  ASSERT_TRUE(status.has_value()) << "still running";
  EXPECT_EQ(*status, 0);
}

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
