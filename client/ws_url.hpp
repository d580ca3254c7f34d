// A parsed ws:// or wss:// URL (wss: TLS, as a reverse proxy in front of
// loopchat serves it).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace loopchat::client {

struct WsUrl {
  std::string host;        // a name, an IPv4 address, or an IPv6 address without brackets
  uint16_t port = 80;      // 443 for wss:// unless given
  std::string path = "/";  // as given (with any query), "/" when empty
  bool secure = false;     // wss://

  // "ws://host:port/path" (or wss://), with brackets around IPv6 addresses.
  std::string text() const;

  static std::optional<WsUrl> parse(std::string_view url);
  // The URL, or a message saying what is wrong with it (for command lines).
  static std::variant<WsUrl, std::string> parse_or_error(std::string_view url);
};

}  // namespace loopchat::client
