// Requests that are cheap to send and were dear to decode: thousands of keys
// in one frame, values nested deep. The server refuses them with bad_request
// after reading no more than the cap, and the connection keeps serving.
#include <gtest/gtest.h>

#include <string>

#include "tests/support/chat_client.hpp"
#include "tests/support/server_process.hpp"

namespace loopchat::test {
namespace {

// A ping with `extra` members besides type and id: "k0":0,"k1":0,...
std::string ping_with_keys(std::size_t extra, const std::string& id) {
  std::string frame = R"({"type":"ping","id":")" + id + "\"";
  for (std::size_t i = 0; i < extra; ++i) {
    frame += ",\"k";
    frame += std::to_string(i);
    frame += "\":0";
  }
  return frame + "}";
}

// A ping whose member x holds `levels` nested arrays.
std::string ping_nested(std::size_t levels, const std::string& id) {
  return R"({"type":"ping","id":")" + id + R"(","x":)" + std::string(levels, '[') + "1" +
         std::string(levels, ']') + "}";
}

asio::awaitable<void> still_served(ChatClient& c) {
  c.send({{"type", "ping"}, {"id", "after"}});
  json pong = co_await c.expect("pong");
  EXPECT_EQ(pong["id"], "after");
}

TEST(RequestCaps, ThousandsOfKeysInOneFrameAreBadRequest) {
  ServerProcess server({"--quiet"});
  run_async([&]() -> asio::awaitable<void> {
    ChatClient c(co_await asio::this_coro::executor);
    co_await c.connect(server.port());
    std::string frame = ping_with_keys(6500, "keys");
    CO_REQUIRE(frame.size() > 60 * 1024 && frame.size() < 64 * 1024);  // under the message limit
    c.send_text(frame);
    json error = co_await c.expect_error("bad_request");
    EXPECT_EQ(error["id"], "keys");
    EXPECT_NE(error["message"].get<std::string>().find("at most 64 keys"), std::string::npos)
        << error;
    co_await still_served(c);
  });
}

TEST(RequestCaps, DeepNestingIsBadRequest) {
  ServerProcess server({"--quiet"});
  run_async([&]() -> asio::awaitable<void> {
    ChatClient c(co_await asio::this_coro::executor);
    co_await c.connect(server.port());
    c.send_text(ping_nested(40, "deep"));
    json error = co_await c.expect_error("bad_request");
    EXPECT_EQ(error["id"], "deep");
    EXPECT_NE(error["message"].get<std::string>().find("at most 8 levels"), std::string::npos)
        << error;
    co_await still_served(c);
    // Within the caps, the same shapes are served.
    c.send_text(ping_with_keys(62, "fits"));
    EXPECT_EQ((co_await c.expect("pong"))["id"], "fits");
    c.send_text(ping_nested(7, "shallow"));
    EXPECT_EQ((co_await c.expect("pong"))["id"], "shallow");

    std::string metrics = http_get(server.port(), "/metrics").body;
    EXPECT_NE(metrics.find("loopchat_errors_total{code=\"bad_request\"} 1"), std::string::npos)
        << metrics;
  });
}

TEST(RequestCaps, OptionsSetTheCaps) {
  ServerProcess server({"--quiet", "--max-request-keys", "10", "--max-request-depth", "3"});
  run_async([&]() -> asio::awaitable<void> {
    ChatClient c(co_await asio::this_coro::executor);
    co_await c.connect(server.port());
    c.send_text(ping_with_keys(8, "ten"));  // type, id and 8 more
    EXPECT_EQ((co_await c.expect("pong"))["id"], "ten");
    c.send_text(ping_with_keys(9, "eleven"));
    EXPECT_NE((co_await c.expect_error("bad_request"))["message"].get<std::string>().find(
                  "at most 10 keys"),
              std::string::npos);
    c.send_text(ping_nested(2, "three"));
    EXPECT_EQ((co_await c.expect("pong"))["id"], "three");
    c.send_text(ping_nested(3, "four"));
    co_await c.expect_error("bad_request");
    co_await still_served(c);
  });
}

}  // namespace
}  // namespace loopchat::test
