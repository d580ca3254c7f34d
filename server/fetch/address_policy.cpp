#include "server/fetch/address_policy.hpp"

#include <charconv>
#include <stdexcept>

namespace loopchat {

namespace {

using Bytes = std::array<std::uint8_t, 16>;

Bytes to_bytes16(const asio::ip::address& address) {
  if (address.is_v6()) return address.to_v6().to_bytes();
  Bytes bytes{};
  bytes[10] = bytes[11] = 0xff;
  const auto v4 = address.to_v4().to_bytes();
  std::copy(v4.begin(), v4.end(), bytes.begin() + 12);
  return bytes;
}

bool prefix_matches(const Bytes& network, const Bytes& bytes, unsigned prefix) {
  unsigned i = 0;
  for (; prefix >= 8; prefix -= 8, ++i)
    if (network[i] != bytes[i]) return false;
  if (prefix == 0) return true;
  const auto mask = static_cast<std::uint8_t>(0xff << (8 - prefix));
  return (network[i] & mask) == (bytes[i] & mask);
}

bool all_zero(const Bytes& bytes, std::size_t from, std::size_t to) {
  for (std::size_t i = from; i < to; ++i)
    if (bytes[i] != 0) return false;
  return true;
}

asio::ip::address_v4 v4_at(const Bytes& bytes, std::size_t offset) {
  return asio::ip::address_v4(asio::ip::address_v4::bytes_type{
      bytes[offset], bytes[offset + 1], bytes[offset + 2], bytes[offset + 3]});
}

// The IPv4 address an IPv6 address stands for, if its form embeds one: a
// connection to it may end up at that IPv4 host.
std::optional<asio::ip::address_v4> embedded_v4(const asio::ip::address_v6& address) {
  const Bytes b = address.to_bytes();
  const bool ffff_at_10 = b[10] == 0xff && b[11] == 0xff;
  if (all_zero(b, 0, 10) && ffff_at_10) return v4_at(b, 12);  // ::ffff:a.b.c.d mapped
  if (all_zero(b, 0, 8) && b[8] == 0xff && b[9] == 0xff && b[10] == 0 && b[11] == 0)
    return v4_at(b, 12);                        // ::ffff:0:a.b.c.d translated (RFC 2765)
  if (all_zero(b, 0, 12)) return v4_at(b, 12);  // ::a.b.c.d compatible (deprecated)
  const Bytes nat64{0, 0x64, 0xff, 0x9b};
  if (prefix_matches(nat64, b, 96)) return v4_at(b, 12);  // 64:ff9b::/96 NAT64
  if (b[0] == 0x20 && b[1] == 0x02) return v4_at(b, 2);   // 2002::/16 6to4
  return std::nullopt;
}

struct NamedRange {
  Cidr cidr;
  std::string_view name;
};

std::vector<NamedRange> make_ranges(
    std::initializer_list<std::pair<std::string_view, std::string_view>> list) {
  std::vector<NamedRange> ranges;
  for (const auto& [text, name] : list) {
    std::string error;
    ranges.push_back({*parse_cidr(text, error), name});
  }
  return ranges;
}

const std::vector<NamedRange>& denied_v4() {
  static const auto ranges = make_ranges({
      {"0.0.0.0/8", "unspecified"},
      {"10.0.0.0/8", "private"},
      {"100.64.0.0/10", "shared (CGNAT)"},
      {"127.0.0.0/8", "loopback"},
      {"169.254.0.0/16", "link-local"},
      {"172.16.0.0/12", "private"},
      {"192.0.0.0/24", "IETF protocol assignments"},
      {"192.0.2.0/24", "documentation"},
      {"192.88.99.0/24", "6to4 relay anycast"},
      {"192.168.0.0/16", "private"},
      {"198.18.0.0/15", "benchmarking"},
      {"198.51.100.0/24", "documentation"},
      {"203.0.113.0/24", "documentation"},
      {"224.0.0.0/4", "multicast"},
      {"255.255.255.255/32", "broadcast"},
      {"240.0.0.0/4", "reserved"},
  });
  return ranges;
}

const std::vector<NamedRange>& denied_v6() {
  static const auto ranges = make_ranges({
      {"::/128", "unspecified"},
      {"::1/128", "loopback"},
      {"64:ff9b:1::/48", "local-use NAT64"},
      {"100::/64", "discard-only"},
      {"2001::/32", "Teredo"},
      {"2001:2::/48", "benchmarking"},
      {"2001:10::/28", "ORCHID"},
      {"2001:20::/28", "ORCHIDv2"},
      {"2001:db8::/32", "documentation"},
      {"3fff::/20", "documentation"},
      {"fc00::/7", "unique-local"},
      {"fe80::/10", "link-local"},
      {"fec0::/10", "site-local"},
      {"ff00::/8", "multicast"},
  });
  return ranges;
}

std::optional<std::string_view> find_range(const std::vector<NamedRange>& ranges,
                                           const asio::ip::address& address) {
  for (const auto& range : ranges)
    if (range.cidr.contains(address)) return range.name;
  return std::nullopt;
}

}  // namespace

bool Cidr::contains(const asio::ip::address& address) const {
  return prefix_matches(bytes, to_bytes16(address), prefix);
}

std::string Cidr::to_string() const {
  if (v4) return v4_at(bytes, 12).to_string() + "/" + std::to_string(prefix - 96);
  return asio::ip::address_v6(bytes).to_string() + "/" + std::to_string(prefix);
}

std::optional<Cidr> parse_cidr(std::string_view text, std::string& error) {
  const auto fail = [&](std::string_view why) -> std::optional<Cidr> {
    error = "bad CIDR '" + std::string(text) + "': " + std::string(why);
    return std::nullopt;
  };
  const auto slash = text.find('/');
  const std::string address_text(text.substr(0, slash));
  if (address_text.find('%') != std::string::npos) return fail("zone ids are not allowed");
  std::error_code ec;
  const auto address = asio::ip::make_address(address_text, ec);
  if (ec) return fail("not an IPv4 or IPv6 address");
  const unsigned max_prefix = address.is_v4() ? 32 : 128;
  unsigned prefix = max_prefix;
  if (slash != std::string_view::npos) {
    const auto digits = text.substr(slash + 1);
    const auto* end = digits.data() + digits.size();
    const auto [ptr, rc] = std::from_chars(digits.data(), end, prefix);
    if (digits.empty() || digits.size() > 3 || rc != std::errc() || ptr != end ||
        prefix > max_prefix)
      return fail(address.is_v4() ? "the prefix length must be 0 to 32"
                                  : "the prefix length must be 0 to 128");
  }
  Cidr cidr;
  cidr.v4 = address.is_v4();
  cidr.prefix = cidr.v4 ? prefix + 96 : prefix;
  cidr.bytes = to_bytes16(address);
  for (unsigned bit = cidr.prefix; bit < 128; ++bit)
    cidr.bytes[bit / 8] &= static_cast<std::uint8_t>(~(0x80u >> (bit % 8)));
  return cidr;
}

std::string cidr_error(std::string_view text) {
  std::string error;
  return parse_cidr(text, error) ? std::string() : error;
}

AddressPolicy::AddressPolicy(const std::vector<std::string>& allow_cidrs) {
  for (const auto& text : allow_cidrs) {
    std::string error;
    auto cidr = parse_cidr(text, error);
    if (!cidr) throw std::invalid_argument(error);
    allow_.push_back(*cidr);
  }
}

std::optional<std::string_view> AddressPolicy::denied_range(
    const asio::ip::address& address) const {
  std::optional<asio::ip::address> v4;
  if (address.is_v4()) v4 = address;
  if (address.is_v6())
    if (auto embedded = embedded_v4(address.to_v6())) v4 = asio::ip::address(*embedded);

  for (const auto& cidr : allow_)
    if (cidr.contains(address) || (v4 && cidr.contains(*v4))) return std::nullopt;

  if (address.is_v6())
    if (auto name = find_range(denied_v6(), address)) return name;
  if (v4) return find_range(denied_v4(), *v4);
  return std::nullopt;
}

}  // namespace loopchat
