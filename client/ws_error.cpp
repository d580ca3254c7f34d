#include "client/ws_error.hpp"

#include <string>

namespace loopchat::client {

namespace {

class WsCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "websocket"; }
  std::string message(int value) const override {
    switch (static_cast<WsErrc>(value)) {
      case WsErrc::handshake_rejected:
        return "handshake rejected by the server (HTTP status)";
      case WsErrc::bad_handshake:
        return "bad handshake answer (Upgrade/Accept headers)";
      case WsErrc::handshake_timeout:
        return "handshake timed out";
      case WsErrc::resolve_failed:
        return "host name did not resolve";
      case WsErrc::protocol_error:
        return "WebSocket protocol error";
      case WsErrc::message_too_big:
        return "message too big";
      case WsErrc::closed:
        return "connection closed";
      case WsErrc::queue_full:
        return "write queue full";
    }
    return "unknown websocket error " + std::to_string(value);
  }
};

}  // namespace

const std::error_category& ws_category() {
  static const WsCategory category;
  return category;
}

std::error_code make_error_code(WsErrc e) {
  return {static_cast<int>(e), ws_category()};
}

}  // namespace loopchat::client
