// Accepts TCP connections and starts a connection for each. Failed accepts for
// lack of file descriptors (EMFILE, ENFILE) back off instead of spinning.
#pragma once

#include <asio.hpp>

#include "server/server_context.hpp"

namespace loopchat {

class Listener {
 public:
  Listener(asio::io_context& io, ServerContext& server, const asio::ip::tcp::endpoint& where);

  asio::ip::tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }
  void start();
  void stop();

 private:
  asio::awaitable<void> accept_loop();

  asio::ip::tcp::acceptor acceptor_;
  asio::steady_timer backoff_;
  asio::io_context::executor_type io_executor_;
  ServerContext& server_;
};

}  // namespace loopchat
