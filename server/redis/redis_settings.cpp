#include "server/redis/redis_settings.hpp"

#include <asio/ip/address.hpp>

#include <charconv>

namespace loopchat {

std::optional<std::string> parse_redis_url(const std::string& url, RedisEndpoint& out) {
  const std::string scheme = "redis://";
  if (url.rfind(scheme, 0) != 0) return "must start with redis://";
  std::string rest = url.substr(scheme.size());
  std::string host, port_text = "6379", db_text = "0";
  if (auto slash = rest.find('/'); slash != std::string::npos) {
    db_text = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
  }
  if (!rest.empty() && rest[0] == '[') {
    auto close = rest.find(']');
    if (close == std::string::npos) return "an IPv6 address is written [ADDRESS]";
    host = rest.substr(1, close - 1);
    if (close + 1 < rest.size()) {
      if (rest[close + 1] != ':') return "expected :PORT after ]";
      port_text = rest.substr(close + 2);
    }
  } else if (auto colon = rest.find(':'); colon != std::string::npos) {
    host = rest.substr(0, colon);
    port_text = rest.substr(colon + 1);
  } else {
    host = rest;
  }
  std::error_code ec;
  asio::ip::make_address(host, ec);
  if (ec)
    return "the host must be an IP address (" + host + " is not): names would resolve blocking";
  int port = 0, db = 0;
  auto [p, pe] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (pe != std::errc() || p != port_text.data() + port_text.size() || port < 1 || port > 65535)
    return "bad port " + port_text;
  auto [d, de] = std::from_chars(db_text.data(), db_text.data() + db_text.size(), db);
  if (de != std::errc() || d != db_text.data() + db_text.size() || db < 0)
    return "bad database number " + db_text;
  out = {host, port, db};
  return std::nullopt;
}

}  // namespace loopchat
