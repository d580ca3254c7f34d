// Errors of the WebSocket client, as std::error_code in the "websocket"
// category; socket errors keep their own (system, asio.misc) categories.
#pragma once

#include <system_error>

namespace loopchat::client {

enum class WsErrc {
  handshake_rejected = 1,  // the server answered with an HTTP status other than 101
  bad_handshake,           // a 101 without the right Upgrade/Connection/Accept headers
  handshake_timeout,       // no complete handshake within the connect timeout
  resolve_failed,          // the host name resolved to no address
  protocol_error,          // the server broke RFC 6455 framing
  message_too_big,         // a message over max_message_bytes
  closed,                  // the connection is closed (close frame seen or socket closed)
  queue_full,              // send refused: the write queue is over max_queue_bytes
};

const std::error_category& ws_category();
std::error_code make_error_code(WsErrc e);

}  // namespace loopchat::client

template <>
struct std::is_error_code_enum<loopchat::client::WsErrc> : std::true_type {};
