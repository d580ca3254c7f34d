// A raw-socket WebSocket client for protocol-abuse tests: it performs the
// upgrade itself and then sends exactly the bytes a test builds, valid or
// not, and reads the server's frames one by one. Blocking, one connection per
// object; every read is bounded by a deadline, never by a sleep.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace loopchat::test {

// One frame as the server sent it.
struct RawFrame {
  bool fin = true;
  std::uint8_t rsv = 0;  // the three reserved bits, as 0..7
  std::uint8_t opcode = 0;
  bool masked = false;
  std::string payload;

  std::uint16_t close_code() const;  // for a close frame: its code, 1005 when none
  std::string close_reason() const;
};

// Builds one client frame. Clients must mask: `mask` false makes the
// violation. `rsv` sets the reserved bits (0..7), `fin` false a fragment.
std::string make_frame(std::uint8_t opcode, std::string_view payload, bool fin = true,
                       bool mask = true, std::uint8_t rsv = 0);
std::string close_frame(std::uint16_t code, std::string_view reason = {});

class RawWsClient {
 public:
  using Clock = std::chrono::steady_clock;

  // Connects to 127.0.0.1:port (from `source` if given) without a handshake.
  // A small `receive_buffer_bytes` (SO_RCVBUF) makes a client that does not
  // read push back on the server quickly.
  explicit RawWsClient(std::uint16_t port, const std::string& source = {},
                       int receive_buffer_bytes = 0);
  ~RawWsClient();
  RawWsClient(const RawWsClient&) = delete;
  RawWsClient& operator=(const RawWsClient&) = delete;

  // Sends a valid upgrade for /ws and reads the answer's head; returns its
  // status code (101 when upgraded). The welcome frame is left unread.
  int upgrade(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // Reads the head of the server's HTTP answer (to a request the test sent
  // itself); its status, or 0 when the connection ended without one.
  int upgrade_answer(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // The answer's head (status line and headers) of the last upgrade().
  const std::string& response_head() const { return head_; }

  void send(std::string_view bytes);  // all of it, or throws
  // The next frame, or nullopt when the connection ended (EOF, reset) first.
  // Throws on timeout or on a frame the server must never send.
  std::optional<RawFrame> read_frame(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // Reads frames until a close frame (skipping text frames and answering
  // nothing); returns it, or nullopt when the connection ended without one.
  std::optional<RawFrame> read_until_close(
      std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // Whether the server closed the TCP connection (EOF or reset) within the
  // timeout, with no more bytes before it.
  bool ended(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // Closes with SO_LINGER 0: the server sees a reset.
  void reset();

  int fd() const { return fd_; }

 private:
  // Reads at least one byte into buffer_; false on EOF or reset.
  bool fill(Clock::time_point deadline);

  int fd_ = -1;
  std::string buffer_;  // bytes read and not yet parsed
  std::string head_;
};

}  // namespace loopchat::test
