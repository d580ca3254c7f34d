// The `mix` scenario's fetch target: a tiny HTTP/1.1 server on the load
// generator's own loop (127.0.0.1, ephemeral port) that answers every GET
// after a fixed delay with a small HTML page, so that the server under test
// holds its fetches in flight for that long. One answer per connection
// (Connection: close). Header-only: it belongs to the runner alone.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <string>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read_until.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

namespace loopchat::load {

inline constexpr auto kHttpUseTuple = asio::experimental::as_tuple(asio::use_awaitable);

class DelayedHttpServer {
 public:
  DelayedHttpServer(asio::io_context& io, uint32_t delay_ms)
      : io_(io), acceptor_(io, {asio::ip::address_v4::loopback(), 0}), delay_ms_(delay_ms) {}

  uint16_t port() const { return acceptor_.local_endpoint().port(); }
  uint64_t requests() const { return requests_; }

  // Accepts until stop(); each connection is answered by its own coroutine.
  asio::awaitable<void> serve() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(kHttpUseTuple);
      if (ec == asio::error::operation_aborted || !acceptor_.is_open()) co_return;
      if (ec) continue;  // EMFILE and the like: the fetch fails, the run goes on
      auto conn = std::make_shared<Connection>(std::move(socket));
      connections_.push_front(conn);
      asio::co_spawn(io_, answer(conn, connections_.begin()), asio::detached);
    }
  }

  // Closes the acceptor and every open connection; their coroutines end.
  void stop() {
    std::error_code ignored;
    acceptor_.close(ignored);
    for (auto& c : connections_) {
      c->timer.cancel();
      c->socket.close(ignored);
    }
  }

 private:
  struct Connection {
    explicit Connection(asio::ip::tcp::socket s)
        : socket(std::move(s)), timer(socket.get_executor()) {}
    asio::ip::tcp::socket socket;
    asio::steady_timer timer;
    std::string request;
  };
  using Connections = std::list<std::shared_ptr<Connection>>;

  static constexpr size_t kMaxRequestBytes = 16 * 1024;

  asio::awaitable<void> answer(std::shared_ptr<Connection> c, Connections::iterator self) {
    auto [read_ec, n] = co_await asio::async_read_until(
        c->socket, asio::dynamic_buffer(c->request, kMaxRequestBytes), "\r\n\r\n", kHttpUseTuple);
    if (!read_ec) {
      ++requests_;
      c->timer.expires_after(std::chrono::milliseconds(delay_ms_));
      auto [timer_ec] = co_await c->timer.async_wait(kHttpUseTuple);
      if (!timer_ec && c->socket.is_open()) {
        static const std::string body =
            "<!doctype html><html><head><title>loopchat-load mix</title></head>"
            "<body>delayed answer</body></html>";
        const std::string response =
            "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: " +
            std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
        co_await asio::async_write(c->socket, asio::buffer(response), kHttpUseTuple);
      }
    }
    std::error_code ignored;
    c->socket.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    c->socket.close(ignored);
    connections_.erase(self);
  }

  asio::io_context& io_;
  asio::ip::tcp::acceptor acceptor_;
  uint32_t delay_ms_;
  uint64_t requests_ = 0;
  Connections connections_;  // open connections, so that stop() reaches them
};

}  // namespace loopchat::load
