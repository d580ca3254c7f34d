// SIGINT/SIGTERM: stop accepting, send 1001 to every client, wait up to
// Config::drain_timeout_ms for them to close, then drop the rest. The loop
// then has no work left and run() returns.
//
// Under overload one pass of the loop can take longer than the drain
// timeout, and the loop learns of the signal only between passes. So the
// signal handler itself, not the loop, records the request
// (shutdown_requested(), for hot paths that can skip work nobody will see)
// and arms the shutdown deadline: drain_timeout_ms + kDeadlineGrace after the
// signal the process exits with kDeadlineExitStatus, whatever the loop is doing.
#pragma once

#include <asio.hpp>

#include <chrono>
#include <functional>

#include "server/server_context.hpp"

namespace loopchat {

// Whether SIGINT or SIGTERM has arrived (set in the signal handler).
bool shutdown_requested();

class GracefulShutdown {
 public:
  static constexpr auto kDeadlineGrace = std::chrono::milliseconds(1000);
  static constexpr int kDeadlineExitStatus = 3;

  // `stop_services` stops accepting and every service that would keep the
  // loop alive (timers, monitors); the connections are closed here.
  GracefulShutdown(asio::io_context& io, ServerContext& server,
                   std::function<void()> stop_services);
  ~GracefulShutdown();  // the signals get their default action back
  GracefulShutdown(const GracefulShutdown&) = delete;
  GracefulShutdown& operator=(const GracefulShutdown&) = delete;

 private:
  asio::awaitable<void> run();

  asio::posix::stream_descriptor signalled_;  // the read end of the signal handler's pipe
  asio::steady_timer drain_timer_;
  ServerContext& server_;
  std::function<void()> stop_services_;
};

}  // namespace loopchat
