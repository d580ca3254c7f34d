// The shutdown deadline: armed by the signal handler itself, it ends the
// process even when the loop never gets to the signal (one endless pass, a
// timer that re-arms forever). In a child process: it must exit.
#include "server/ops/graceful_shutdown.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "server/chat/hub.hpp"
#include "server/chat/reminder_queue.hpp"
#include "server/chat/request_handler.hpp"
#include "server/engine/local_engine.hpp"
#include "server/fetch/fetcher.hpp"
#include "server/ops/loop_lag_monitor.hpp"

namespace loopchat {
namespace {

// Everything GracefulShutdown is wired to in main(), for a loop that never runs.
[[noreturn]] void signal_a_server_whose_loop_never_runs(std::uint32_t drain_timeout_ms) {
  Config config;
  config.drain_timeout_ms = drain_timeout_ms;
  asio::io_context io(1);
  Metrics metrics;
  LocalEngine engine(config, metrics, nullptr);
  Hub hub(config, metrics, engine);
  ReminderQueue reminders(io, 1,
                          [](Participant&, const std::string&, const protocol::RequestId&,
                             std::chrono::milliseconds) {});
  Fetcher fetcher(io, config.fetch, config.dns);
  LoopLagMonitor lag(io);
  Authenticator auth(io);
  OriginPolicy origins({});
  std::vector<Cidr> trusted_proxies;
  RequestHandler requests(config, metrics, hub, auth, reminders, fetcher, lag);
  HttpRoutes http(metrics, hub, reminders, fetcher, lag);
  WriteFlusher flusher(io.get_executor());
  DeadlineLanes deadlines(io, {});
  ServerContext server{.config = config,
                       .metrics = metrics,
                       .hub = hub,
                       .requests = requests,
                       .http = http,
                       .flusher = flusher,
                       .deadlines = deadlines,
                       .auth = auth,
                       .origins = origins,
                       .trusted_proxies = trusted_proxies,
                       .connections = {},
                       .shutting_down = false,
                       .on_drained = {}};
  GracefulShutdown shutdown(io, server, [] {});
  ::raise(SIGTERM);
  if (!shutdown_requested()) ::_exit(10);
  for (;;) ::pause();  // the loop is held: only the deadline can end this
}

TEST(GracefulShutdown, TheDeadlineEndsAProcessWhoseLoopNeverGetsToTheSignal) {
  constexpr std::uint32_t kDrainMs = 200;
  auto started = std::chrono::steady_clock::now();
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) signal_a_server_whose_loop_never_runs(kDrainMs);
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, child, 0));
  ASSERT_GE(pidfd, 0);
  pollfd p{pidfd, POLLIN, 0};
  int ended = ::poll(&p, 1, 10000);
  ::close(pidfd);
  if (ended <= 0) ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_EQ(ended, 1) << "still running 10 s after SIGTERM";
  auto took = std::chrono::steady_clock::now() - started;
  ASSERT_TRUE(WIFEXITED(status)) << "ended by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), GracefulShutdown::kDeadlineExitStatus);
  EXPECT_GE(took, std::chrono::milliseconds(kDrainMs) + GracefulShutdown::kDeadlineGrace);
}

}  // namespace
}  // namespace loopchat
