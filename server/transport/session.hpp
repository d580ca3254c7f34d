// One client connection, from the accepted socket to its close. Coroutines
// own it: the reader (waits until the socket is readable, reads into the
// loop's shared buffer and feeds websocketpp, which parses the handshake and
// frames and calls back on each message), the writer (waits for a socket that
// would block to become writable, and ends the connection) and the heartbeat.
// Each holds a shared_ptr to the session: it lives until all have ended.
//
// Outbound frames wait in a queue bounded in bytes (Config::max_queue_bytes)
// and leave once per loop turn, gathered into one write (WriteFlusher). Past
// the limit deliver() only marks the session; the backlog is dropped and the
// connection closed with 1008 from a task of its own, so a broadcast never
// closes a connection while it iterates a room.
#pragma once

#include <asio.hpp>

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "server/chat/client_state.hpp"
#include "server/chat/participant.hpp"
#include "server/server_context.hpp"
#include "server/transport/frame.hpp"
#include "server/transport/frame_queue.hpp"
#include "server/transport/ws_config.hpp"

namespace loopchat {

class Session : public Participant, public std::enable_shared_from_this<Session> {
 public:
  Session(asio::ip::tcp::socket socket, ServerContext& server);
  ~Session() override;
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void start();
  void deliver(const FramePtr& frame) override;
  std::size_t send_room() const override;
  // Starts the close handshake; a connection still in its HTTP phase is dropped.
  void close(std::uint16_t code, std::string_view reason);
  // Closes the socket at once (shutdown past its drain timeout).
  void drop() { drop_socket(); }
  // Writes what is queued, as far as the socket takes it (WriteFlusher).
  void flush();

 private:
  asio::awaitable<void> read_loop();
  asio::awaitable<void> write_loop();
  asio::awaitable<void> close_watchdog();
  asio::awaitable<void> heartbeat();
  void start_close_watchdog();
  void close_slow_consumer();

  // websocketpp's callbacks.
  bool on_validate();
  void on_http();
  void on_open();
  void on_message(WsEndpoint::message_ptr message);
  void on_closed();
  std::error_code on_write(const std::vector<websocketpp::transport::buffer>& buffers);
  std::error_code on_shutdown();

  void enqueue(FramePtr frame);
  void wake_writer();
  void drop_socket();
  void finish();

  bool handshake_too_large(std::size_t just_read);
  bool invalid_close_reason_answer(std::string_view bytes) const;

  asio::ip::tcp::socket socket_;
  ServerContext& server_;
  asio::ip::address source_;         // the peer's address, for --max-connections-per-ip
  std::size_t handshake_bytes_ = 0;  // read before the upgrade completed
  WsEndpoint::connection_ptr ws_;    // websocketpp's protocol state for this connection

  FrameQueue queue_;                // frames not yet written
  asio::steady_timer writer_wake_;  // the writer sleeps on it; cancel() wakes it
  asio::steady_timer close_timer_;
  asio::steady_timer heartbeat_timer_;  // handshake deadline, then the ping cycle
  ClientState state_;
  bool writer_sleeping_ = false;
  bool flush_scheduled_ = false;  // in the WriteFlusher's list
  bool write_blocked_ = false;    // the socket took less than offered: the writer waits
  bool overflowed_ = false;       // queue passed its limit: closing with 1008
  bool shutdown_ = false;         // websocketpp is done: flush, then close the socket
  bool closing_ = false;          // we started the close handshake
  bool watchdog_started_ = false;
  std::uint16_t close_code_ = 0;  // the close code we sent first, if we did
  bool socket_closed_ = false;
  bool open_ = false;  // handshake done, registered in the hub
  bool finished_ = false;
  bool pong_received_ = false;
};

}  // namespace loopchat
