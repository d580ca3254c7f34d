#include "server/ops/graceful_shutdown.hpp"

#include <asio/experimental/as_tuple.hpp>

#include <vector>

#include "common/use_tuple.hpp"
#include "server/ops/log.hpp"
#include "server/transport/session.hpp"

namespace loopchat {

GracefulShutdown::GracefulShutdown(asio::io_context& io, ServerContext& server,
                                   std::function<void()> stop_services)
    : signals_(io, SIGINT, SIGTERM),
      drain_timer_(io),
      server_(server),
      stop_services_(std::move(stop_services)) {
  asio::co_spawn(io, run(), log_failure("graceful shutdown"));
}

asio::awaitable<void> GracefulShutdown::run() {
  auto [ec, signal] = co_await signals_.async_wait(use_tuple);
  if (ec) co_return;
  log::info("signal ", signal, ": closing ", server_.sessions.size(), " connections");
  server_.shutting_down = true;
  stop_services_();
  // Close frames go out now; the sessions leave the set as their sockets close.
  std::vector<Session*> sessions(server_.sessions.begin(), server_.sessions.end());
  for (Session* session : sessions) session->close(1001, "server shutting down");

  server_.on_drained = [this] { drain_timer_.cancel(); };
  if (!server_.sessions.empty()) {
    drain_timer_.expires_after(std::chrono::milliseconds(server_.config.drain_timeout_ms));
    co_await drain_timer_.async_wait(use_tuple);
  }
  server_.on_drained = nullptr;
  if (!server_.sessions.empty()) {
    log::warn("drain timeout: dropping ", server_.sessions.size(), " connections");
    sessions.assign(server_.sessions.begin(), server_.sessions.end());
    for (Session* session : sessions) session->drop();
  }
  signals_.cancel();
}

}  // namespace loopchat
