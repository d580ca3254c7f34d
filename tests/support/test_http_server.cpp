#include "tests/support/test_http_server.hpp"

#include <charconv>
#include <optional>
#include <unordered_set>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/read_until.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include "common/use_tuple.hpp"

namespace loopchat::test {

using asio::awaitable;
using asio::ip::tcp;

struct TestHttpServer::State {
  explicit State(asio::io_context& io) : acceptor(io) {}
  tcp::acceptor acceptor;
  std::string address;
  std::uint16_t port = 0;
  Stats stats;
  std::unordered_set<tcp::socket*> open;  // for stop(); each lives in its coroutine
  bool stopped = false;
};

namespace {

using StatePtr = std::shared_ptr<TestHttpServer::State>;

std::string_view reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 404:
      return "Not Found";
    case 500:
      return "Internal Server Error";
    default:
      return "Status";
  }
}

std::string head(int status, std::string_view type, std::uint64_t length,
                 std::string_view extra = {}) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason(status)) +
                    "\r\nContent-Type: " + std::string(type) +
                    "\r\nContent-Length: " + std::to_string(length) + "\r\nConnection: close\r\n" +
                    std::string(extra) + "\r\n";
  return out;
}

std::string percent_decode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      int value = 0;
      auto [ptr, ec] = std::from_chars(text.data() + i + 1, text.data() + i + 3, value, 16);
      if (ec == std::errc() && ptr == text.data() + i + 3) {
        out += static_cast<char>(value);
        i += 2;
        continue;
      }
    }
    out += text[i] == '+' ? ' ' : text[i];
  }
  return out;
}

std::optional<long> number_after(std::string_view path, std::string_view prefix) {
  if (path.substr(0, prefix.size()) != prefix) return std::nullopt;
  long value = 0;
  const auto digits = path.substr(prefix.size());
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc() || ptr != digits.data() + digits.size()) return std::nullopt;
  return value;
}

awaitable<void> send(tcp::socket& socket, std::string data) {
  co_await asio::async_write(socket, asio::buffer(data), use_tuple);
}

awaitable<void> send_big(StatePtr state, tcp::socket& socket) {
  auto& stats = state->stats;
  stats.big_bytes_sent = 0;
  stats.big_closed_early = stats.big_finished = false;
  // A small send buffer, so what was sent says roughly what was read.
  socket.set_option(asio::socket_base::send_buffer_size(64 * 1024));
  auto [ec, n] = co_await asio::async_write(
      socket, asio::buffer(head(200, "text/html", TestHttpServer::kBigBytes)), use_tuple);
  std::string chunk = "<html><head><title>Big page</title></head><body>";
  chunk.resize(64 * 1024, 'x');
  while (!ec && stats.big_bytes_sent < TestHttpServer::kBigBytes) {
    std::tie(ec, n) = co_await asio::async_write(socket, asio::buffer(chunk), use_tuple);
    stats.big_bytes_sent += n;
    chunk.assign(chunk.size(), 'x');
  }
  if (ec)
    stats.big_closed_early = true;
  else
    stats.big_finished = true;
}

awaitable<void> serve(StatePtr state, tcp::socket socket) {
  state->open.insert(&socket);
  struct Unregister {
    StatePtr state;
    tcp::socket* socket;
    ~Unregister() { state->open.erase(socket); }
  } unregister{state, &socket};

  std::string request(4096, '\0');
  auto [ec, n] = co_await socket.async_read_some(asio::buffer(request), use_tuple);
  if (ec) co_return;
  request.resize(n);
  if (request[0] == '\x16') {  // a TLS ClientHello: answer in plain text, as a real server might
    co_await send(socket, head(400, "text/plain", 0));
    co_return;
  }
  if (request.find("\r\n\r\n") == std::string::npos) {
    std::tie(ec, n) = co_await asio::async_read_until(
        socket, asio::dynamic_buffer(request, 16 * 1024), "\r\n\r\n", use_tuple);
    if (ec) co_return;
  }
  ++state->stats.requests;
  // "GET /path?query HTTP/1.1"
  const auto first_space = request.find(' ');
  const auto second_space = request.find(' ', first_space + 1);
  if (first_space == std::string::npos || second_space == std::string::npos) co_return;
  const std::string target = request.substr(first_space + 1, second_space - first_space - 1);
  const auto question = target.find('?');
  const std::string_view path = std::string_view(target).substr(0, question);
  const std::string_view query = question == std::string::npos
                                     ? std::string_view()
                                     : std::string_view(target).substr(question + 1);

  if (path == "/title") {
    const std::string body =
        "<!doctype html><html><head><meta charset=\"utf-8\">\n"
        "<!-- <title>not this one</title> -->\n"
        "<TITLE class=\"page\">\n  Tom &amp; Jerry&#39;s\n\t&lt;Show&gt;   &#x263A; </TITLE>"
        "</head><body><title>nor this</title></body></html>";
    co_await send(socket, head(200, "text/html; charset=utf-8", body.size()) + body);
  } else if (path == "/text") {
    const std::string body = "<title>Not a page</title>";
    co_await send(socket, head(200, "text/plain", body.size()) + body);
  } else if (auto ms = number_after(path, "/delay/")) {
    asio::steady_timer timer(socket.get_executor(), std::chrono::milliseconds(*ms));
    co_await timer.async_wait(use_tuple);
    const std::string body = "waited " + std::to_string(*ms) + " ms";
    co_await send(socket, head(200, "text/plain", body.size()) + body);
  } else if (path == "/big") {
    co_await send_big(state, socket);
  } else if (auto code = number_after(path, "/status/")) {
    const std::string body = "status " + std::to_string(*code);
    co_await send(socket, head(static_cast<int>(*code), "text/plain", body.size()) + body);
  } else if (path == "/hang") {
    ++state->stats.hangs_open;
    char byte;
    auto [read_ec, read_n] = co_await asio::async_read(socket, asio::buffer(&byte, 1), use_tuple);
    --state->stats.hangs_open;
    if (read_ec != asio::error::operation_aborted) ++state->stats.hangs_closed;
  } else if (auto hops = number_after(path, "/redirect/")) {
    const std::string location =
        *hops > 1 ? "/redirect/" + std::to_string(*hops - 1) : std::string("/title");
    co_await send(socket, head(302, "text/plain", 0, "Location: " + location + "\r\n"));
  } else if (path == "/redirect-to" && query.substr(0, 4) == "url=") {
    const auto location = percent_decode(query.substr(4));
    co_await send(socket, head(302, "text/plain", 0, "Location: " + location + "\r\n"));
  } else {
    co_await send(socket, head(404, "text/plain", 9) + "not found");
  }
  std::error_code ignored;
  socket.shutdown(tcp::socket::shutdown_send, ignored);
}

awaitable<void> accept_loop(StatePtr state) {
  for (;;) {
    auto [ec, socket] = co_await state->acceptor.async_accept(use_tuple);
    if (ec) co_return;
    asio::co_spawn(state->acceptor.get_executor(), serve(state, std::move(socket)), asio::detached);
  }
}

}  // namespace

TestHttpServer::TestHttpServer(asio::io_context& io, const std::string& address)
    : state_(std::make_shared<State>(io)) {
  const tcp::endpoint endpoint(asio::ip::make_address(address), 0);
  state_->acceptor.open(endpoint.protocol());
  state_->acceptor.set_option(tcp::acceptor::reuse_address(true));
  state_->acceptor.bind(endpoint);
  state_->acceptor.listen();
  state_->address = address;
  state_->port = state_->acceptor.local_endpoint().port();
  asio::co_spawn(io, accept_loop(state_), asio::detached);
}

TestHttpServer::~TestHttpServer() {
  stop();
}

std::uint16_t TestHttpServer::port() const {
  return state_->port;
}

std::string TestHttpServer::url(std::string_view path) const {
  return url_for_host(state_->address, path);
}

std::string TestHttpServer::url_for_host(std::string_view host, std::string_view path) const {
  return "http://" + std::string(host) + ":" + std::to_string(state_->port) + std::string(path);
}

const TestHttpServer::Stats& TestHttpServer::stats() const {
  return state_->stats;
}

void TestHttpServer::stop() {
  if (state_->stopped) return;
  state_->stopped = true;
  std::error_code ignored;
  state_->acceptor.close(ignored);
  for (auto* socket : state_->open) socket->close(ignored);
}

}  // namespace loopchat::test
