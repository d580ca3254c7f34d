// A protocol-level test client: a WsClient plus JSON helpers. Failures throw
// (TestFailure), which run_async() turns into a failed test; every wait is
// bounded by run_async's deadline, never by a sleep.
#pragma once

#include <asio.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <stdexcept>
#include <string>

#include "client/ws_client.hpp"

namespace loopchat::test {

using json = nlohmann::json;

struct TestFailure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// ASSERT_* returns from a function, which a coroutine cannot: this throws.
#define CO_REQUIRE(condition)                                                                      \
  do {                                                                                             \
    if (!(condition))                                                                              \
      throw ::loopchat::test::TestFailure(std::string(__FILE__) + ":" + std::to_string(__LINE__) + \
                                          ": required " #condition);                               \
  } while (0)

// Runs `body` on a fresh single-threaded io_context; fails the test if it
// throws or does not finish within `timeout`.
void run_async(const std::function<asio::awaitable<void>()>& body,
               std::chrono::milliseconds timeout = std::chrono::seconds(30));

class ChatClient {
 public:
  // No default argument for the config: see WsClient's constructors.
  explicit ChatClient(asio::any_io_executor executor);
  ChatClient(asio::any_io_executor executor, client::WsClientConfig config);

  // Connects and reads the welcome; returns the assigned name.
  asio::awaitable<std::string> connect(std::uint16_t port, const std::string& path = "/ws");
  void send(const json& request);
  void send_text(const std::string& text) { ws_.send_text(text); }

  // The next text frame, parsed. Throws on close or error.
  asio::awaitable<json> next();
  // The next frame, which must have this type.
  asio::awaitable<json> expect(const std::string& type);
  // Skips frames until one of this type comes (for presence noise etc.).
  asio::awaitable<json> wait_for(const std::string& type);
  // The next error frame must carry `code`.
  asio::awaitable<json> expect_error(const std::string& code);
  // Join and wait for `joined` (presence frames before it are skipped).
  asio::awaitable<json> join(const std::string& room);
  // The connection must end with a close frame, then the server's TCP close;
  // returns the close code.
  asio::awaitable<std::uint16_t> expect_close();

  client::WsClient& ws() { return ws_; }
  const std::string& name() const { return name_; }

 private:
  client::WsClient ws_;
  std::string name_;
};

}  // namespace loopchat::test
