// SIGINT/SIGTERM: stop accepting, send 1001 to every client, wait up to
// Config::drain_timeout_ms for them to close, then drop the rest. The loop
// then has no work left and run() returns.
#pragma once

#include <asio.hpp>

#include <functional>

#include "server/server_context.hpp"

namespace loopchat {

class GracefulShutdown {
 public:
  // `stop_services` stops accepting and every service that would keep the
  // loop alive (timers, monitors); the connections are closed here.
  GracefulShutdown(asio::io_context& io, ServerContext& server,
                   std::function<void()> stop_services);

 private:
  asio::awaitable<void> run();

  asio::signal_set signals_;
  asio::steady_timer drain_timer_;
  ServerContext& server_;
  std::function<void()> stop_services_;
};

}  // namespace loopchat
