#include "server/ops/graceful_shutdown.hpp"

#include <fcntl.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <stdexcept>
#include <vector>

#include "common/use_tuple.hpp"
#include "server/ops/log.hpp"
#include "server/transport/connection.hpp"

namespace loopchat {
namespace {

// Shared with the signal handlers: written before they are installed, or
// sig_atomic_t.
volatile std::sig_atomic_t requested_signal = 0;
int signal_pipe_write = -1;
timer_t deadline_timer{};
bool deadline_timer_made = false;
itimerspec deadline_after{};

const int kDeadlineSignal = SIGRTMIN;  // sent by deadline_timer only

void on_deadline(int) {
  log::write_from_signal_handler("shutdown deadline passed: exiting with the drain unfinished\n");
  ::_exit(GracefulShutdown::kDeadlineExitStatus);
}

void on_shutdown_signal(int signal) {
  int saved_errno = errno;
  if (requested_signal == 0) {
    requested_signal = signal;
    if (deadline_timer_made) ::timer_settime(deadline_timer, 0, &deadline_after, nullptr);
  }
  unsigned char byte = static_cast<unsigned char>(signal);
  [[maybe_unused]] ssize_t ignored = ::write(signal_pipe_write, &byte, 1);  // full: already woken
  errno = saved_errno;
}

void handle(int signal, void (*handler)(int)) {
  struct sigaction action {};
  action.sa_handler = handler;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  ::sigaction(signal, &action, nullptr);
}

int make_signal_pipe() {
  int ends[2];
  if (::pipe2(ends, O_NONBLOCK | O_CLOEXEC) != 0)
    throw std::runtime_error("cannot create the signal pipe");
  signal_pipe_write = ends[1];
  return ends[0];
}

}  // namespace

bool shutdown_requested() {
  return requested_signal != 0;
}

GracefulShutdown::GracefulShutdown(asio::io_context& io, ServerContext& server,
                                   std::function<void()> stop_services)
    : signalled_(io, make_signal_pipe()),
      drain_timer_(io),
      server_(server),
      stop_services_(std::move(stop_services)) {
  auto deadline = std::chrono::milliseconds(server.config.drain_timeout_ms) + kDeadlineGrace;
  deadline_after.it_value.tv_sec = static_cast<time_t>(deadline.count() / 1000);
  deadline_after.it_value.tv_nsec = static_cast<long>(deadline.count() % 1000 * 1000000);
  sigevent event{};
  event.sigev_notify = SIGEV_SIGNAL;
  event.sigev_signo = kDeadlineSignal;
  deadline_timer_made = ::timer_create(CLOCK_MONOTONIC, &event, &deadline_timer) == 0;
  if (!deadline_timer_made) log::warn("no shutdown deadline: timer_create failed");
  handle(kDeadlineSignal, on_deadline);
  handle(SIGINT, on_shutdown_signal);
  handle(SIGTERM, on_shutdown_signal);
  asio::co_spawn(io, run(), log_failure("graceful shutdown"));
}

GracefulShutdown::~GracefulShutdown() {
  handle(SIGINT, SIG_DFL);
  handle(SIGTERM, SIG_DFL);
  // Past this point nothing may still force an exit: the loop has ended.
  if (deadline_timer_made) ::timer_delete(deadline_timer);
  deadline_timer_made = false;
  handle(kDeadlineSignal, SIG_DFL);
  ::close(signal_pipe_write);
  signal_pipe_write = -1;
}

asio::awaitable<void> GracefulShutdown::run() {
  auto [ec] = co_await signalled_.async_wait(asio::posix::descriptor_base::wait_read, use_tuple);
  if (ec) co_return;
  log::info("signal ", int(requested_signal), ": closing ", server_.connections.size(),
            " connections");
  server_.shutting_down = true;
  stop_services_();
  // Close frames go out now; the connections leave the set as their sockets close.
  std::vector<Connection*> connections(server_.connections.begin(), server_.connections.end());
  for (Connection* connection : connections) connection->close(1001, "server shutting down");

  server_.on_drained = [this] { drain_timer_.cancel(); };
  if (!server_.connections.empty()) {
    drain_timer_.expires_after(std::chrono::milliseconds(server_.config.drain_timeout_ms));
    co_await drain_timer_.async_wait(use_tuple);
  }
  server_.on_drained = nullptr;
  if (!server_.connections.empty()) {
    log::warn("drain timeout: dropping ", server_.connections.size(), " connections");
    connections.assign(server_.connections.begin(), server_.connections.end());
    for (Connection* connection : connections) connection->drop();
  }
}

}  // namespace loopchat
