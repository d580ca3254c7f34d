// A minimal RFC 6455 client on Asio coroutines, for one thread: the
// end-to-end tests, the CLI client and the load generator all speak through
// it. Single-threaded by design: nothing here is locked, so every call must
// come from the thread that runs the client's executor.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/ip/address.hpp>
#include <asio/ip/tcp.hpp>

#include "client/ws_error.hpp"
#include "client/ws_url.hpp"

namespace loopchat::client {

struct WsMessage {
  enum class Kind { text, binary, close, error };
  Kind kind = Kind::error;
  std::string data;          // the payload of a text or binary message
  uint16_t close_code = 0;   // close: the server's code (1005 when none); error: 1006 or ours
  std::string close_reason;  // close: the server's reason
  std::error_code error;     // error: what ended the connection
};

struct WsClientConfig {
  // Each read asks for up to this many bytes and every frame in them is
  // parsed before the next read. Also the buffer each connection holds.
  size_t read_chunk_bytes = 64 * 1024;
  size_t max_message_bytes = 16 * 1024 * 1024;
  // send_* refuses (returns false) while this much is waiting to be written.
  size_t max_queue_bytes = 64 * 1024 * 1024;
  // Bounds resolve, TCP connect and the HTTP upgrade together.
  std::chrono::milliseconds connect_timeout_ms{10'000};
  // How long a destroyed client may keep its socket to finish writing and to
  // wait for the server's half of the close handshake.
  std::chrono::milliseconds close_linger_ms{1'000};
  bool auto_pong = true;
  // SO_RCVBUF before connecting (0: the kernel's autotuning). Tests of slow
  // consumers set it small so the server's queue, not the kernel, fills.
  int socket_receive_buffer_bytes = 0;
  // wss://: the certificate is checked against the system's roots, or the
  // CA file given, and the URL's host; `tls_insecure` skips the check.
  std::string tls_ca_file;
  bool tls_insecure = false;
};

class WsClient {
 public:
  // Two constructors, not a default argument: a WsClientConfig (it holds a
  // string) made as a default argument inside a coroutine is freed wrongly
  // by GCC 12.
  explicit WsClient(asio::any_io_executor executor);
  WsClient(asio::any_io_executor executor, WsClientConfig config);
  // Lets queued bytes (a close frame) drain in the background, bounded by
  // close_linger_ms. No connect/receive/flush of this client may be pending.
  ~WsClient();
  WsClient(const WsClient&) = delete;
  WsClient& operator=(const WsClient&) = delete;
  WsClient(WsClient&&) noexcept = default;
  WsClient& operator=(WsClient&&) noexcept = delete;

  // Resolves (numeric hosts directly), connects from `source` when given,
  // and performs the upgrade. Errors: socket errors, or WsErrc values; when
  // the server answers with another status than 101, http_status() has it.
  asio::awaitable<std::error_code> connect(const WsUrl& url,
                                           std::optional<asio::ip::address> source = {});
  int http_status() const;  // status of the handshake answer, 0 before one

  // Queue a frame. Frames queued in the same turn of the event loop go out
  // in one write. False when closed or over max_queue_bytes (nothing queued).
  bool send_text(std::string_view text);
  bool send_binary(std::string_view data);
  bool send_ping(std::string_view payload = {});
  bool send_close(uint16_t code = 1000, std::string_view reason = {});
  bool send_raw(std::string_view bytes);  // exact bytes, for protocol-abuse tests
  // Waits until everything queued is written (or the write failed).
  asio::awaitable<std::error_code> flush();
  size_t queued_bytes() const;

  // The next text or binary message (fragments reassembled), or the close
  // the server sent (answered automatically), or an error (EOF, reset:
  // close_code 1006). Pings are answered on the way unless auto_pong is off.
  asio::awaitable<WsMessage> receive();
  // Same, reusing out.data's capacity.
  asio::awaitable<void> receive_into(WsMessage& out);
  // The same messages as receive(), each passed to `on_message` as it is
  // parsed, until the close or the error that ends the connection (passed
  // too, last). Callbacks instead of a coroutine resumed per read: for a
  // reader of many connections (the load generator). No receive may be
  // pending.
  void receive_each(std::function<void(WsMessage&)> on_message);

  void set_auto_pong(bool on);
  uint64_t pings_received() const;
  uint64_t pongs_received() const;

  bool is_open() const;
  void close_socket();  // closes at once, without a close frame
  void abort();         // closes with SO_LINGER 0: the peer sees a reset
  asio::ip::tcp::socket& socket();

 private:
  struct State;
  std::shared_ptr<State> state_;  // shared with callbacks still in flight
};

}  // namespace loopchat::client
