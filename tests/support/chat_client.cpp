#include "tests/support/chat_client.hpp"

#include <gtest/gtest.h>

#include <exception>

namespace loopchat::test {

void run_async(const std::function<asio::awaitable<void>()>& body,
               std::chrono::milliseconds timeout) {
  asio::io_context io(1);
  bool done = false;
  std::exception_ptr failure;
  asio::co_spawn(io, body(), [&](std::exception_ptr e) {
    done = true;
    failure = e;
  });
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done && std::chrono::steady_clock::now() < deadline) io.run_one_until(deadline);
  if (!done) {
    ADD_FAILURE() << "test did not finish within " << timeout.count() << " ms";
    return;
  }
  if (failure) {
    try {
      std::rethrow_exception(failure);
    } catch (const std::exception& e) {
      ADD_FAILURE() << e.what();
    }
  }
}

ChatClient::ChatClient(asio::any_io_executor executor) : ws_(std::move(executor)) {}

ChatClient::ChatClient(asio::any_io_executor executor, client::WsClientConfig config)
    : ws_(std::move(executor), std::move(config)) {}

asio::awaitable<std::string> ChatClient::connect(std::uint16_t port, const std::string& path) {
  client::WsUrl url{"127.0.0.1", port, path};
  std::error_code ec = co_await ws_.connect(url);
  if (ec)
    throw TestFailure("connect failed: " + ec.message() + " (HTTP " +
                      std::to_string(ws_.http_status()) + ")");
  json welcome = co_await expect("welcome");
  name_ = welcome.at("name").get<std::string>();
  co_return name_;
}

void ChatClient::send(const json& request) {
  if (!ws_.send_text(request.dump())) throw TestFailure("send failed: " + request.dump());
}

asio::awaitable<json> ChatClient::next() {
  client::WsMessage message = co_await ws_.receive();
  if (message.kind == client::WsMessage::Kind::close)
    throw TestFailure("closed by server: " + std::to_string(message.close_code) + " " +
                      message.close_reason);
  if (message.kind != client::WsMessage::Kind::text)
    throw TestFailure("connection ended: " + message.error.message());
  co_return json::parse(message.data);
}

asio::awaitable<json> ChatClient::expect(const std::string& type) {
  json frame = co_await next();
  if (frame.value("type", "") != type)
    throw TestFailure("expected " + type + ", got " + frame.dump());
  co_return frame;
}

asio::awaitable<json> ChatClient::wait_for(const std::string& type) {
  while (true) {
    json frame = co_await next();
    if (frame.value("type", "") == type) co_return frame;
  }
}

asio::awaitable<json> ChatClient::expect_error(const std::string& code) {
  json frame = co_await expect("error");
  if (frame.value("code", "") != code)
    throw TestFailure("expected error " + code + ", got " + frame.dump());
  if (!frame.contains("message") || frame["message"].get<std::string>().empty())
    throw TestFailure("error without a message: " + frame.dump());
  co_return frame;
}

asio::awaitable<json> ChatClient::join(const std::string& room) {
  send({{"type", "join"}, {"room", room}});
  // Presence may come first: on a clustered server a join announced just
  // before this one can arrive after this one's member was added.
  json joined = co_await next();
  while (joined.value("type", "") == "presence") joined = co_await next();
  if (joined.value("type", "") != "joined")
    throw TestFailure("expected joined, got " + joined.dump());
  if (joined.value("room", "") != room)
    throw TestFailure("joined the wrong room: " + joined.dump());
  co_return joined;
}

asio::awaitable<std::uint16_t> ChatClient::expect_close() {
  std::uint16_t code = 0;
  while (true) {
    client::WsMessage message = co_await ws_.receive();
    if (message.kind == client::WsMessage::Kind::close) code = message.close_code;
    if (message.kind == client::WsMessage::Kind::error) break;
  }
  // The server closes the TCP connection after the close handshake (RFC 6455
  // 7.1.1): by then it has counted the close.
  if (code == 0) throw TestFailure("connection ended without a close frame");
  co_return code;
}

}  // namespace loopchat::test
