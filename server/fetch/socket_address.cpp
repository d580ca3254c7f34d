#include "server/fetch/socket_address.hpp"

#include <cstring>

#include <netinet/in.h>

namespace loopchat {

std::optional<asio::ip::address> address_of(const sockaddr* address, std::size_t length) {
  if (!address) return std::nullopt;
  // Copied out: the caller's buffer need not be aligned for sockaddr_in6.
  if (address->sa_family == AF_INET && length >= sizeof(sockaddr_in)) {
    sockaddr_in sin;
    std::memcpy(&sin, address, sizeof sin);
    return asio::ip::address_v4(ntohl(sin.sin_addr.s_addr));
  }
  if (address->sa_family == AF_INET6 && length >= sizeof(sockaddr_in6)) {
    sockaddr_in6 sin6;
    std::memcpy(&sin6, address, sizeof sin6);
    asio::ip::address_v6::bytes_type bytes;
    std::memcpy(bytes.data(), &sin6.sin6_addr, bytes.size());
    return asio::ip::address_v6(bytes, sin6.sin6_scope_id);
  }
  return std::nullopt;
}

}  // namespace loopchat
