#include "server/transport/listener.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <system_error>

#include <asio/experimental/as_tuple.hpp>

#include <chrono>

#include "common/use_tuple.hpp"
#include "server/ops/log.hpp"
#include "server/transport/connection.hpp"

namespace loopchat {
namespace {
constexpr auto kAcceptBackoff = std::chrono::milliseconds(100);
constexpr int kBacklog = 4096;
}  // namespace

Listener::Listener(asio::io_context& io, ServerContext& server,
                   const asio::ip::tcp::endpoint& where)
    : acceptor_(io), backoff_(io), io_executor_(io.get_executor()), server_(server) {
  acceptor_.open(where.protocol());
  acceptor_.set_option(asio::socket_base::reuse_address(true));
  if (server.config.reuse_port) {
    // Several processes on one port: the kernel spreads new connections
    // over them (SO_REUSEPORT; all must be of the same user).
    int on = 1;
    if (::setsockopt(acceptor_.native_handle(), SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) != 0)
      throw std::system_error(errno, std::generic_category(), "SO_REUSEPORT");
  }
  acceptor_.bind(where);
  acceptor_.listen(kBacklog);
}

void Listener::start() {
  asio::co_spawn(acceptor_.get_executor(), accept_loop(), log_failure("accept loop"));
}

void Listener::stop() {
  std::error_code ignored;
  acceptor_.close(ignored);
  backoff_.cancel();
}

asio::awaitable<void> Listener::accept_loop() {
  std::uint64_t failures_logged_at = 0;
  while (acceptor_.is_open()) {
    // Sockets with the loop's own executor type: no polymorphic executor per connection.
    auto [ec, socket] = co_await acceptor_.async_accept(io_executor_, use_tuple);
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) break;
    if (ec) {
      ++server_.metrics.accept_errors;
      // Log the first failure of a run, then one in a thousand.
      if (server_.metrics.accept_errors - failures_logged_at >= 1000 || failures_logged_at == 0) {
        log::warn("accept failed: ", ec.message(), " (", server_.metrics.accept_errors,
                  " so far); backing off ", kAcceptBackoff.count(), " ms");
        failures_logged_at = server_.metrics.accept_errors;
      }
      backoff_.expires_after(kAcceptBackoff);
      co_await backoff_.async_wait(use_tuple);
      continue;
    }
    ++server_.metrics.connections_accepted;
    std::error_code ignored;
    if (server_.metrics.connections_handshaking >= server_.config.max_handshakes) {
      // Too many request heads in flight: this one is not read at all.
      server_.metrics.count_limit(Limit::handshakes);
      socket.close(ignored);
      continue;
    }
    socket.set_option(asio::ip::tcp::no_delay(true), ignored);
    socket.non_blocking(true, ignored);
    std::make_shared<Connection>(std::move(socket), server_)->start();
  }
}

}  // namespace loopchat
