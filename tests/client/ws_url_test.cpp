#include "client/ws_url.hpp"

#include <gtest/gtest.h>

namespace loopchat::client {
namespace {

TEST(WsUrl, ParsesHostPortPath) {
  auto url = WsUrl::parse("ws://127.0.0.1:8080/ws");
  ASSERT_TRUE(url);
  EXPECT_EQ(url->host, "127.0.0.1");
  EXPECT_EQ(url->port, 8080);
  EXPECT_EQ(url->path, "/ws");
  EXPECT_EQ(url->text(), "ws://127.0.0.1:8080/ws");
}

TEST(WsUrl, DefaultsPortAndPath) {
  auto url = WsUrl::parse("ws://example.org");
  ASSERT_TRUE(url);
  EXPECT_EQ(url->host, "example.org");
  EXPECT_EQ(url->port, 80);
  EXPECT_EQ(url->path, "/");
}

TEST(WsUrl, KeepsQueryAndAcceptsUppercaseScheme) {
  auto url = WsUrl::parse("WS://localhost:9/ws?x=1");
  ASSERT_TRUE(url);
  EXPECT_EQ(url->path, "/ws?x=1");
  auto bare_query = WsUrl::parse("ws://localhost?x=1");
  ASSERT_TRUE(bare_query);
  EXPECT_EQ(bare_query->path, "/?x=1");
}

TEST(WsUrl, ParsesBracketedIpv6) {
  auto url = WsUrl::parse("ws://[::1]:9000/ws");
  ASSERT_TRUE(url);
  EXPECT_EQ(url->host, "::1");
  EXPECT_EQ(url->port, 9000);
  EXPECT_EQ(url->text(), "ws://[::1]:9000/ws");
}

TEST(WsUrl, WssIsTlsOn443UnlessGiven) {
  auto url = WsUrl::parse("wss://example.org/ws?token=t");
  ASSERT_TRUE(url);
  EXPECT_TRUE(url->secure);
  EXPECT_EQ(url->port, 443);
  EXPECT_EQ(url->path, "/ws?token=t");
  EXPECT_EQ(url->text(), "wss://example.org:443/ws?token=t");
  auto other = WsUrl::parse("WSS://127.0.0.1:8443/ws");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->port, 8443);
  EXPECT_FALSE(WsUrl::parse("ws://example.org/")->secure);
}

TEST(WsUrl, RejectsGarbage) {
  for (const char* bad : {"", "http://x/", "ws://", "ws://:80/", "ws://host:/", "ws://host:0/",
                          "ws://host:65536/", "ws://host:12a/", "ws://host:123456/", "ws://ho st/",
                          "ws://[::1/", "ws://u@host/", "ws://host/#frag", "127.0.0.1:8080"}) {
    EXPECT_FALSE(WsUrl::parse(bad)) << bad;
    auto result = WsUrl::parse_or_error(bad);
    ASSERT_TRUE(std::holds_alternative<std::string>(result)) << bad;
    EXPECT_FALSE(std::get<std::string>(result).empty());
  }
}

TEST(WsUrl, AcceptsPortBounds) {
  EXPECT_EQ(WsUrl::parse("ws://h:1/")->port, 1);
  EXPECT_EQ(WsUrl::parse("ws://h:65535/")->port, 65535);
}

}  // namespace
}  // namespace loopchat::client
