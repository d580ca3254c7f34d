// A parsed ws:// URL: the only scheme the client speaks (no TLS).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace loopchat::client {

struct WsUrl {
  std::string host;  // a name, an IPv4 address, or an IPv6 address without brackets
  uint16_t port = 80;
  std::string path = "/";  // as given (with any query), "/" when empty

  // "ws://host:port/path", with brackets around IPv6 addresses.
  std::string text() const;

  static std::optional<WsUrl> parse(std::string_view url);
  // The URL, or a message saying what is wrong with it (for command lines).
  static std::variant<WsUrl, std::string> parse_or_error(std::string_view url);
};

}  // namespace loopchat::client
