// Open WebSocket connections per source, for --max-connections-per-ip: one
// host cannot take every slot of --max-connections. A source is an IPv4
// address or an IPv6 /64: one host is commonly given a whole /64, so counting
// per /128 would give it 2^64 sources. IPv4-mapped IPv6 (a dual-stack
// listener's IPv4 peers) counts as its IPv4 address. Sources in the exempt
// ranges (loopback by default: a reverse proxy or local tools) are neither
// limited nor counted.
#pragma once

#include <asio/ip/address.hpp>

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "server/fetch/address_policy.hpp"

namespace loopchat {

// What the limit counts `address` under: itself for IPv4, its /64 for IPv6.
asio::ip::address source_of(const asio::ip::address& address);

class ConnectionsPerSource {
 public:
  // `limit` 0: no limit. Throws std::invalid_argument on a bad CIDR.
  ConnectionsPerSource(std::size_t limit, const std::vector<std::string>& exempt_cidrs);

  // Whether one more connection from `source` stays within the limit.
  bool admits(const asio::ip::address& source) const;
  // A connection from `source` opened / ended (every opened one ends once).
  void opened(const asio::ip::address& source);
  void closed(const asio::ip::address& source);

  std::size_t open_from(const asio::ip::address& source) const;
  std::size_t sources() const { return open_.size(); }  // sources with a connection

 private:
  bool exempt(const asio::ip::address& source) const;

  std::size_t limit_;
  std::vector<Cidr> exempt_;
  std::map<asio::ip::address, std::size_t> open_;  // by source_of(), only those with connections
};

}  // namespace loopchat
