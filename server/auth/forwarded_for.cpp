#include "server/auth/forwarded_for.hpp"

#include <algorithm>

namespace loopchat {
namespace {

bool trusted_by(const std::vector<Cidr>& trusted, const asio::ip::address& address) {
  return std::any_of(trusted.begin(), trusted.end(),
                     [&](const Cidr& cidr) { return cidr.contains(address); });
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

}  // namespace

asio::ip::address forwarded_client(const asio::ip::address& peer, std::string_view forwarded_for,
                                   const std::vector<Cidr>& trusted) {
  asio::ip::address client = peer;
  while (trusted_by(trusted, client) && !forwarded_for.empty()) {
    std::size_t comma = forwarded_for.rfind(',');
    std::string_view entry =
        trim(comma == std::string_view::npos ? forwarded_for : forwarded_for.substr(comma + 1));
    forwarded_for =
        comma == std::string_view::npos ? std::string_view() : forwarded_for.substr(0, comma);
    std::error_code ec;
    asio::ip::address address = asio::ip::make_address(std::string(entry), ec);
    if (ec) break;  // not an address: the nearest believable one stands
    client = address;
  }
  return client;
}

}  // namespace loopchat
