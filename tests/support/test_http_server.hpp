// A small HTTP/1.1 server on Asio for tests of outbound fetches: it runs on
// the caller's io_context (no thread), listens on an ephemeral port and
// answers each request on its own connection, then closes it.
//
// Routes:
//   /title            HTML whose <title> has entities and whitespace
//   /text             text/plain that contains a <title> (must not count)
//   /delay/{ms}       200 after ms (a timer, not a sleep)
//   /big              10 MiB of HTML, streamed; stats() says how much was sent
//   /status/{code}    that status, a short text body
//   /hang             reads the request, never answers
//   /redirect/{n}     302 to /redirect/{n-1}, /redirect/1 to /title
//   /redirect-to?url= 302 to the (percent-decoded) url
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <asio/io_context.hpp>

namespace loopchat::test {

class TestHttpServer {
 public:
  static constexpr std::uint64_t kBigBytes = 10 << 20;
  static constexpr std::string_view kTitle = "Tom & Jerry's <Show> \u263A";  // as /title decodes

  struct Stats {
    std::size_t requests = 0;
    std::uint64_t big_bytes_sent = 0;  // body bytes of the last /big written to the socket
    bool big_closed_early = false;     // the client hung up during the last /big
    bool big_finished = false;         // the last /big was written to its end
    std::size_t hangs_open = 0;        // /hang connections still open
    std::size_t hangs_closed = 0;      // /hang connections the client closed
  };

  explicit TestHttpServer(asio::io_context& io, const std::string& address = "127.0.0.1");
  ~TestHttpServer();  // stop()
  TestHttpServer(const TestHttpServer&) = delete;
  TestHttpServer& operator=(const TestHttpServer&) = delete;

  std::uint16_t port() const;
  // "http://127.0.0.1:PORT" + path (path starts with '/').
  std::string url(std::string_view path) const;
  std::string url_for_host(std::string_view host, std::string_view path) const;
  const Stats& stats() const;
  // Closes the listener and every open connection.
  void stop();

  struct State;  // shared with the connections' coroutines

 private:
  std::shared_ptr<State> state_;
};

}  // namespace loopchat::test
