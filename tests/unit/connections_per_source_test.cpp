// The per-source connection count: IPv4 per address, IPv6 per /64,
// IPv4-mapped IPv6 as IPv4, exempt ranges neither limited nor counted.
#include "server/transport/connections_per_source.hpp"

#include <gtest/gtest.h>

namespace loopchat {
namespace {

asio::ip::address at(const char* text) {
  return asio::ip::make_address(text);
}

TEST(ConnectionsPerSource, IPv6AddressesOfOneSlash64AreOneSource) {
  ConnectionsPerSource limit(2, {});
  limit.opened(at("2001:db8:1:2::1"));
  limit.opened(at("2001:db8:1:2:ffff:ffff:ffff:fffe"));
  EXPECT_FALSE(limit.admits(at("2001:db8:1:2:1234::9")));  // any other host of that /64
  EXPECT_EQ(limit.open_from(at("2001:db8:1:2::77")), 2u);
  EXPECT_EQ(limit.sources(), 1u);
  // The next /64 is another source.
  EXPECT_TRUE(limit.admits(at("2001:db8:1:3::1")));
  EXPECT_EQ(limit.open_from(at("2001:db8:1:3::1")), 0u);

  // A connection ending frees a slot of its /64, whichever host it was.
  limit.closed(at("2001:db8:1:2::1"));
  EXPECT_TRUE(limit.admits(at("2001:db8:1:2::abcd")));
  limit.closed(at("2001:db8:1:2:ffff:ffff:ffff:fffe"));
  EXPECT_EQ(limit.sources(), 0u);
}

TEST(ConnectionsPerSource, IPv4IsCountedPerAddress) {
  ConnectionsPerSource limit(1, {});
  limit.opened(at("192.0.2.1"));
  EXPECT_FALSE(limit.admits(at("192.0.2.1")));
  EXPECT_TRUE(limit.admits(at("192.0.2.2")));
  EXPECT_EQ(limit.sources(), 1u);
}

TEST(ConnectionsPerSource, IPv4MappedIPv6CountsAsItsIPv4Address) {
  ConnectionsPerSource limit(2, {});
  limit.opened(at("::ffff:192.0.2.1"));  // a dual-stack listener's IPv4 peer
  limit.opened(at("192.0.2.1"));
  EXPECT_FALSE(limit.admits(at("192.0.2.1")));
  EXPECT_FALSE(limit.admits(at("::ffff:192.0.2.1")));
  // ::ffff:192.0.2.1 and ::ffff:192.0.2.2 share a /64, but are two IPv4 hosts.
  EXPECT_TRUE(limit.admits(at("::ffff:192.0.2.2")));
  EXPECT_EQ(limit.sources(), 1u);
  limit.closed(at("192.0.2.1"));
  limit.closed(at("::ffff:192.0.2.1"));
  EXPECT_EQ(limit.sources(), 0u);
}

TEST(ConnectionsPerSource, AnExemptAddressInsideACountedSlash64DoesNotReleaseItsSlots) {
  ConnectionsPerSource limit(1, {"2001:db8::1"});
  limit.opened(at("2001:db8::2"));
  limit.opened(at("2001:db8::1"));  // exempt: not counted
  EXPECT_TRUE(limit.admits(at("2001:db8::1")));
  limit.closed(at("2001:db8::1"));
  EXPECT_EQ(limit.open_from(at("2001:db8::2")), 1u);
  EXPECT_FALSE(limit.admits(at("2001:db8::3")));
}

TEST(ConnectionsPerSource, SourceOfKeepsIPv4AndThePrefixOfIPv6) {
  EXPECT_EQ(source_of(at("203.0.113.9")), at("203.0.113.9"));
  EXPECT_EQ(source_of(at("::ffff:203.0.113.9")), at("203.0.113.9"));
  EXPECT_EQ(source_of(at("2001:db8:aa:bb:cc:dd:ee:ff")), at("2001:db8:aa:bb::"));
  EXPECT_EQ(source_of(at("::1")), at("::"));
  // A scope id (link-local) is not part of the source.
  EXPECT_EQ(source_of(at("fe80::1%1")), at("fe80::"));
}

}  // namespace
}  // namespace loopchat
