// One client connection, from the accepted socket to its close, as an
// explicit state machine. Each phase has one deadline (DeadlineLanes), so no
// connection outlives it whatever the peer does:
//
//   handshake --101--> open --close sent/received, protocol error--> closing
//       |                                                               |
//       +--HTTP answer (page, 4xx, 426, 431, 503)--> closing            |
//                                                      |                |
//                                     answer / close frames written, write side shut
//                                                      v                v
//                                   draining: read and discard until the peer's EOF
//                                                      |
//                                                      v
//                                                    closed
//
//   handshake: --handshake-timeout-ms; open: the ping cycle; closing and
//   draining: --close-timeout-ms, from the moment closing began.
//
// No coroutine per connection: a readiness wait is pending while the
// connection waits for bytes (its handler holds the shared_ptr that keeps the
// connection alive), and a second one only while a write would block.
// Outbound frames wait in a queue bounded in bytes (control frames too) and
// leave once per loop turn, gathered into one write (WriteFlusher). Past the
// bound deliver() only marks the connection; the backlog is dropped and it is
// closed with 1008 from a task of its own, so a broadcast never closes a
// connection while it iterates a room.
#pragma once

#include <asio.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include "server/chat/client_state.hpp"
#include "server/chat/participant.hpp"
#include "server/server_context.hpp"
#include "server/transport/deadline_lanes.hpp"
#include "server/transport/frame.hpp"
#include "server/transport/frame_queue.hpp"
#include "server/transport/ws_frame_reader.hpp"
#include "server/transport/ws_handshake.hpp"

namespace loopchat {

class Connection final : public Participant,
                         public DeadlineLanes::Entry,
                         public std::enable_shared_from_this<Connection> {
 public:
  using Socket = asio::basic_stream_socket<asio::ip::tcp, asio::io_context::executor_type>;
  enum class Phase : std::uint8_t { handshake, open, closing, draining, closed };

  Connection(Socket socket, ServerContext& server);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void start();
  Phase phase() const { return phase_; }

  void deliver(const FramePtr& frame) override;
  std::size_t send_room() const override;
  void end(std::uint16_t code, std::string_view reason) override { close(code, reason); }
  // Starts the close handshake; a connection still in its handshake is dropped.
  void close(std::uint16_t code, std::string_view reason);
  // Closes the socket at once (shutdown past its drain timeout).
  void drop();
  // Writes what is queued, as far as the socket takes it (WriteFlusher).
  void flush();
  // Ask the CPU for what flush() reads, while another connection's write is
  // in the kernel: first this object's lines, then (once they are in) the
  // queue's slots they point to.
  void prefetch_for_flush() const {
    __builtin_prefetch(&queue_);
    __builtin_prefetch(&phase_);
  }
  void prefetch_queue_for_flush() const { __builtin_prefetch(queue_.front_slot()); }

 private:
  // Reading.
  void wait_readable();
  void on_readable(std::error_code ec);
  void consume(char* data, std::size_t size);
  std::size_t consume_request(const char* data, std::size_t size);
  std::size_t consume_frames(char* data, std::size_t size);
  void on_input(WsInput& input);

  // The HTTP phase.
  void answer_request();
  void upgrade();
  void answer_http(const HttpAnswer& answer);
  bool refuse_upgrade();

  // Writing.
  void enqueue(FramePtr frame);
  void wait_writable();
  void close_slow_consumer();

  // Closing.
  void fail(std::uint16_t code, std::string_view reason);
  void enter_closing();
  void drain_if_done();
  void on_deadline() override;
  void count_close(std::uint16_t code);
  void finish();

  Socket socket_;
  ServerContext& server_;
  asio::ip::address source_;  // the peer's address, for --max-connections-per-ip
  // Exactly one of the two, by phase: the request head being read, or the
  // frame state once open (and while closing).
  std::unique_ptr<HttpRequestReader> request_;
  std::optional<WsFrameReader> frames_;
  FrameQueue queue_;  // frames not yet written
  ClientState state_;
  Phase phase_ = Phase::handshake;
  std::uint16_t local_close_code_ = 0;   // the close code we sent, if we did
  std::uint16_t remote_close_code_ = 0;  // the peer's, if it sent one
  bool close_sent_ = false;
  bool close_received_ = false;
  bool discard_input_ = false;  // after an HTTP answer or a protocol error: input is not parsed
  bool pong_pending_ = false;   // a ping is out, its pong not yet in
  bool flush_scheduled_ = false;
  bool write_blocked_ = false;  // the socket took less than offered: waiting until writable
  bool overflowed_ = false;     // queue passed its limit: closing with 1008
  bool established_ = false;    // upgraded: counted in connections_open, known to the hub
};

}  // namespace loopchat
