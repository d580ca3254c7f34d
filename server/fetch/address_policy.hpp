// The SSRF policy of outbound fetches: which IP addresses a fetch may connect
// to. By default every non-public range is denied (loopback, private, CGNAT,
// link-local, unique-local, multicast, unspecified, reserved, documentation);
// IPv6 forms that embed an IPv4 address (mapped, compatible, NAT64, 6to4) are
// judged as that IPv4 address. CIDRs on the allow list override the denial.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <asio/ip/address.hpp>

namespace loopchat {

// An IPv4 or IPv6 network. IPv4 networks are kept as IPv4-mapped IPv6
// (::ffff:a.b.c.d, prefix + 96) so one comparison serves both families.
struct Cidr {
  std::array<std::uint8_t, 16> bytes{};
  unsigned prefix = 0;  // over the 128 bits
  bool v4 = false;      // written as IPv4 (for to_string)

  bool contains(const asio::ip::address& address) const;
  std::string to_string() const;
};

// "10.0.0.0/8", "fe80::/10", or a bare address (a /32 or /128). Host bits
// below the prefix are ignored. On failure: nullopt and a message in `error`.
std::optional<Cidr> parse_cidr(std::string_view text, std::string& error);

// Empty if `text` is a valid CIDR, else why not: for command-line validation.
std::string cidr_error(std::string_view text);

class AddressPolicy {
 public:
  AddressPolicy() = default;
  // Throws std::invalid_argument with parse_cidr's message on a bad entry.
  explicit AddressPolicy(const std::vector<std::string>& allow_cidrs);

  bool allowed(const asio::ip::address& address) const { return !denied_range(address); }

  // The name of the denied range `address` falls in ("loopback", ...), or
  // nullopt if a fetch may connect to it.
  std::optional<std::string_view> denied_range(const asio::ip::address& address) const;

 private:
  std::vector<Cidr> allow_;
};

}  // namespace loopchat
