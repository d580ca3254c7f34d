#include "server/fetch/address_policy.hpp"

#include <stdexcept>

#include <gtest/gtest.h>

namespace loopchat {
namespace {

asio::ip::address ip(const char* text) {
  return asio::ip::make_address(text);
}

TEST(AddressPolicy, DeniesEveryNonPublicIpv4Range) {
  const AddressPolicy policy;
  for (const char* address :
       {"0.0.0.0",         "0.1.2.3",      "10.0.0.1",        "10.255.255.255",  "100.64.0.1",
        "100.127.255.254", "127.0.0.1",    "127.255.255.254", "169.254.169.254", "172.16.0.1",
        "172.31.255.255",  "192.0.0.8",    "192.0.2.1",       "192.168.0.1",     "192.168.255.255",
        "198.18.0.1",      "198.19.255.1", "198.51.100.7",    "203.0.113.9",     "224.0.0.1",
        "239.255.255.250", "240.0.0.1",    "255.255.255.255"})
    EXPECT_FALSE(policy.allowed(ip(address))) << address;
}

TEST(AddressPolicy, AllowsPublicIpv4NextToTheRanges) {
  const AddressPolicy policy;
  for (const char* address :
       {"1.1.1.1", "8.8.8.8", "9.255.255.255", "11.0.0.0", "100.63.255.255", "100.128.0.0",
        "126.255.255.255", "128.0.0.0", "169.253.0.1", "169.255.0.1", "172.15.255.255",
        "172.32.0.0", "192.0.1.1", "192.167.1.1", "192.169.0.0", "198.17.255.255", "198.20.0.0",
        "223.255.255.255", "93.184.216.34"})
    EXPECT_TRUE(policy.allowed(ip(address))) << address;
}

TEST(AddressPolicy, NamesTheRange) {
  const AddressPolicy policy;
  EXPECT_EQ(policy.denied_range(ip("127.0.0.1")), "loopback");
  EXPECT_EQ(policy.denied_range(ip("10.1.2.3")), "private");
  EXPECT_EQ(policy.denied_range(ip("100.64.1.1")), "shared (CGNAT)");
  EXPECT_EQ(policy.denied_range(ip("169.254.169.254")), "link-local");
  EXPECT_EQ(policy.denied_range(ip("255.255.255.255")), "broadcast");
  EXPECT_EQ(policy.denied_range(ip("::1")), "loopback");
  EXPECT_EQ(policy.denied_range(ip("::")), "unspecified");
  EXPECT_EQ(policy.denied_range(ip("::ffff:192.168.1.1")), "private");
  EXPECT_EQ(policy.denied_range(ip("8.8.8.8")), std::nullopt);
}

TEST(AddressPolicy, DeniesEveryNonPublicIpv6Range) {
  const AddressPolicy policy;
  for (const char* address :
       {"::", "::1", "fe80::1", "febf:ffff::1", "fc00::1", "fd12:3456::1", "ff02::1", "ff0e::1",
        "fec0::1", "2001:db8::1", "100::1", "2001::1", "2001:10::1", "64:ff9b:1::1"})
    EXPECT_FALSE(policy.allowed(ip(address))) << address;
}

TEST(AddressPolicy, AllowsPublicIpv6) {
  const AddressPolicy policy;
  for (const char* address :
       {"2606:4700:4700::1111", "2001:4860:4860::8888", "2a00:1450:4001::1", "fe00::1", "fbff::1"})
    EXPECT_TRUE(policy.allowed(ip(address))) << address;
}

TEST(AddressPolicy, JudgesIpv6FormsOfIpv4AsTheIpv4Address) {
  const AddressPolicy policy;
  for (const char* address :
       {"::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "::ffff:0:127.0.0.1",
        "::127.0.0.1", "::10.0.0.1", "64:ff9b::127.0.0.1", "64:ff9b::a9fe:a9fe", "2002:7f00:1::1",
        "2002:c0a8:101::1"})
    EXPECT_FALSE(policy.allowed(ip(address))) << address;
  for (const char* address :
       {"::ffff:8.8.8.8", "::ffff:1.1.1.1", "64:ff9b::8.8.8.8", "2002:808:808::1"})
    EXPECT_TRUE(policy.allowed(ip(address))) << address;
}

TEST(AddressPolicy, AllowListOverridesTheDenial) {
  const AddressPolicy policy({"127.0.0.0/8", "fd00::/8", "10.1.0.0/16"});
  EXPECT_TRUE(policy.allowed(ip("127.0.0.1")));
  EXPECT_TRUE(policy.allowed(ip("127.0.0.2")));
  EXPECT_TRUE(policy.allowed(ip("::ffff:127.0.0.1")));  // mapped: judged as 127.0.0.1
  EXPECT_TRUE(policy.allowed(ip("fd00::5")));
  EXPECT_TRUE(policy.allowed(ip("10.1.200.3")));
  EXPECT_FALSE(policy.allowed(ip("10.2.0.1")));
  EXPECT_FALSE(policy.allowed(ip("::1")));
  EXPECT_FALSE(policy.allowed(ip("fc00::1")));
  EXPECT_FALSE(policy.allowed(ip("192.168.1.1")));
}

TEST(AddressPolicy, AllowListOfOneHost) {
  const AddressPolicy policy({"127.0.0.1/32", "::1"});
  EXPECT_TRUE(policy.allowed(ip("127.0.0.1")));
  EXPECT_FALSE(policy.allowed(ip("127.0.0.2")));
  EXPECT_TRUE(policy.allowed(ip("::1")));
}

TEST(Cidr, ParsesIpv4AndIpv6) {
  std::string error;
  auto cidr = parse_cidr("10.0.0.0/8", error);
  ASSERT_TRUE(cidr) << error;
  EXPECT_EQ(cidr->to_string(), "10.0.0.0/8");
  EXPECT_TRUE(cidr->contains(ip("10.9.8.7")));
  EXPECT_FALSE(cidr->contains(ip("11.0.0.0")));

  cidr = parse_cidr("fe80::/10", error);
  ASSERT_TRUE(cidr) << error;
  EXPECT_EQ(cidr->to_string(), "fe80::/10");
  EXPECT_TRUE(cidr->contains(ip("febf::1")));
  EXPECT_FALSE(cidr->contains(ip("fec0::1")));

  cidr = parse_cidr("192.168.1.77/24", error);  // host bits are dropped
  ASSERT_TRUE(cidr) << error;
  EXPECT_EQ(cidr->to_string(), "192.168.1.0/24");

  cidr = parse_cidr("8.8.8.8", error);  // a bare address is one host
  ASSERT_TRUE(cidr) << error;
  EXPECT_EQ(cidr->to_string(), "8.8.8.8/32");
  EXPECT_FALSE(cidr->contains(ip("8.8.8.9")));

  cidr = parse_cidr("0.0.0.0/0", error);
  ASSERT_TRUE(cidr) << error;
  EXPECT_TRUE(cidr->contains(ip("203.0.113.1")));
  EXPECT_FALSE(cidr->contains(ip("2001:db8::1")));

  cidr = parse_cidr("::/0", error);
  ASSERT_TRUE(cidr) << error;
  EXPECT_TRUE(cidr->contains(ip("2001:db8::1")));
}

TEST(Cidr, RejectsGarbageWithAMessage) {
  for (const char* bad :
       {"", "/8", "banana", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/8x", "10.0.0/8",
        "256.0.0.0/8", "::/129", "::/1000", "fe80::1%eth0/64", "10.0.0.0/8/8", " 10.0.0.0/8"}) {
    std::string error;
    EXPECT_FALSE(parse_cidr(bad, error)) << bad;
    EXPECT_NE(error.find("bad CIDR"), std::string::npos) << bad;
    EXPECT_EQ(cidr_error(bad), error);
  }
  EXPECT_EQ(cidr_error("10.0.0.0/33"), "bad CIDR '10.0.0.0/33': the prefix length must be 0 to 32");
  EXPECT_EQ(cidr_error("127.0.0.0/8"), "");
  EXPECT_THROW(AddressPolicy({"127.0.0.0/8", "nope"}), std::invalid_argument);
}

}  // namespace
}  // namespace loopchat
