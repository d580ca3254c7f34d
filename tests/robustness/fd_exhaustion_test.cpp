// accept() failing for lack of file descriptors (EMFILE) must not spin the
// loop: the listener backs off, logs, keeps serving the connections it has
// and recovers when descriptors come back.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>

#include "tests/robustness/metrics_probe.hpp"
#include "tests/robustness/raw_ws.hpp"
#include "tests/support/chat_client.hpp"
#include "tests/support/server_process.hpp"

namespace loopchat::test {
namespace {

// utime + stime of a process, in seconds.
double cpu_seconds(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  std::istringstream fields(text.substr(text.rfind(')') + 2));  // the name may hold spaces
  std::string field;
  unsigned long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) utime = std::stoul(field);
    if (i == 15) stime = std::stoul(field);
  }
  return double(utime + stime) / double(::sysconf(_SC_CLK_TCK));
}

TEST(FdExhaustion, AcceptFailuresBackOffLogAndRecover) {
  constexpr int kFdLimit = 64, kFlood = 120;
  ::setenv("LOOPCHAT_NOFILE", std::to_string(kFdLimit).c_str(), 1);
  // A long handshake timeout: the flood's connections hold their descriptors.
  ServerProcess server({"--handshake-timeout-ms", "60000"}, LOOPCHAT_NOFILE_EXEC);
  ::unsetenv("LOOPCHAT_NOFILE");
  run_async(
      [&]() -> asio::awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        ChatClient existing(ex);
        co_await existing.connect(server.port());
        co_await existing.join("r");

        // More connections than descriptors: the kernel queues them, the
        // server's accept() fails with EMFILE.
        std::vector<std::unique_ptr<RawWsClient>> flood;
        for (int i = 0; i < kFlood; ++i)
          flood.push_back(std::make_unique<RawWsClient>(server.port()));
        CO_REQUIRE(co_await co_eventually(
            [&] { return server.log().find("accept failed") != std::string::npos; }));

        // Saturated for a second of wall time: the loop must mostly sleep.
        double cpu_before = cpu_seconds(server.pid());
        auto wall_before = std::chrono::steady_clock::now();
        asio::steady_timer window(ex, std::chrono::seconds(1));
        co_await window.async_wait(asio::use_awaitable);
        double wall =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_before).count();
        double cpu = cpu_seconds(server.pid()) - cpu_before;
        EXPECT_LT(cpu, 0.3 * wall) << "the server used " << cpu << " s of CPU in " << wall
                                   << " s while out of descriptors";

        // The existing client is still served meanwhile.
        existing.send({{"type", "ping"}, {"id", 1}});
        co_await existing.expect("pong");
        existing.send({{"type", "say"}, {"room", "r"}, {"text", "still here"}});
        co_await existing.expect("message");

        // Descriptors come back: new clients are accepted again.
        flood.clear();
        ChatClient late(ex);
        co_await late.connect(server.port());
        late.send({{"type", "ping"}});
        co_await late.expect("pong");
        auto errors = metric(server.port(), "loopchat_accept_errors_total");
        EXPECT_TRUE(errors && *errors >= 1);
        // One in a thousand failures is logged, not each.
        std::string log = server.log();
        std::size_t lines = 0;
        for (auto at = log.find("accept failed"); at != std::string::npos;
             at = log.find("accept failed", at + 1))
          ++lines;
        EXPECT_LE(lines, 1 + static_cast<std::size_t>(*errors / 1000));
      },
      std::chrono::seconds(30));
}

}  // namespace
}  // namespace loopchat::test
