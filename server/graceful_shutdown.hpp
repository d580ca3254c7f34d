// SIGINT/SIGTERM: stop accepting, send 1001 to every client, wait up to
// Config::drain_timeout_ms for them to close, then drop the rest. The loop
// then has no work left and run() returns.
#pragma once

#include <asio.hpp>

#include "server/listener.hpp"
#include "server/loop_lag_monitor.hpp"
#include "server/server_context.hpp"

namespace loopchat {

class GracefulShutdown {
 public:
  GracefulShutdown(asio::io_context& io, ServerContext& server, Listener& listener,
                   LoopLagMonitor& lag);

 private:
  asio::awaitable<void> run();

  asio::signal_set signals_;
  asio::steady_timer drain_timer_;
  ServerContext& server_;
  Listener& listener_;
  LoopLagMonitor& lag_;
};

}  // namespace loopchat
