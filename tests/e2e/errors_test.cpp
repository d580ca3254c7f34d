// Every error code a client can provoke, and the close codes for bad frames.
// The connection stays open after an error and the server keeps serving.
#include <gtest/gtest.h>

#include "tests/support/chat_client.hpp"
#include "tests/support/server_process.hpp"

namespace loopchat::test {
namespace {

TEST(Errors, EachCodeWithItsIdAndTheConnectionStaysOpen) {
  ServerProcess server({"--max-text-chars", "10", "--max-rooms-per-client", "2"});
  run_async([&]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    ChatClient c(ex);
    co_await c.connect(server.port());

    c.send_text("{not json");
    co_await c.expect_error("bad_json");
    c.send_text("[1,2]");
    co_await c.expect_error("bad_json");
    c.send({{"room", "x"}});
    co_await c.expect_error("bad_request");
    c.send({{"type", "join"}, {"id", 1}});
    json e = co_await c.expect_error("bad_request");
    EXPECT_EQ(e["id"], 1);
    c.send({{"type", "say"}, {"room", "x"}, {"text", 5}});
    co_await c.expect_error("bad_request");
    c.send({{"type", "ping"}, {"id", std::string(65, 'i')}});
    co_await c.expect_error("bad_request");
    c.send({{"type", "dance"}, {"id", "d"}});
    e = co_await c.expect_error("unknown_type");
    EXPECT_EQ(e["id"], "d");
    c.send({{"type", "join"}, {"room", "no spaces"}});
    co_await c.expect_error("bad_room");
    c.send({{"type", "join"}, {"room", std::string(65, 'r')}});
    co_await c.expect_error("bad_room");
    c.send({{"type", "nick"}, {"name", ""}});
    co_await c.expect_error("bad_name");
    c.send({{"type", "nick"}, {"name", std::string(33, 'n')}});
    co_await c.expect_error("bad_name");
    c.send({{"type", "say"}, {"room", "x"}, {"text", "hi"}, {"id", 9}});
    e = co_await c.expect_error("not_in_room");
    EXPECT_EQ(e["id"], 9);
    c.send({{"type", "leave"}, {"room", "x"}});
    co_await c.expect_error("not_in_room");
    co_await c.join("x");
    c.send({{"type", "say"}, {"room", "x"}, {"text", "eleven char"}});
    co_await c.expect_error("too_long");
    c.send({{"type", "say"}, {"room", "x"}, {"text", "ten chars!"}});
    co_await c.expect("message");
    co_await c.join("y");
    c.send({{"type", "join"}, {"room", "z"}});
    co_await c.expect_error("server_busy");

    // Still served, and the errors are counted.
    c.send({{"type", "ping"}, {"id", "alive"}});
    json pong = co_await c.expect("pong");
    EXPECT_EQ(pong["id"], "alive");
    std::string metrics = http_get(server.port(), "/metrics").body;
    EXPECT_NE(metrics.find("loopchat_errors_total{code=\"bad_json\"} 2"), std::string::npos)
        << metrics;
    EXPECT_NE(metrics.find("loopchat_errors_total{code=\"not_in_room\"} 2"), std::string::npos);
  });
}

TEST(Errors, OversizedFrameClosesWith1009AndOthersAreServed) {
  ServerProcess server({"--max-message-bytes", "1024"});
  run_async([&]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    ChatClient big(ex), other(ex);
    co_await big.connect(server.port());
    co_await other.connect(server.port());
    big.send({{"type", "say"}, {"room", "x"}, {"text", std::string(2000, 'a')}});
    EXPECT_EQ(co_await big.expect_close(), 1009);
    other.send({{"type", "ping"}});
    co_await other.expect("pong");
  });
}

TEST(Errors, BinaryFrameClosesWith1003) {
  ServerProcess server;
  run_async([&]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    ChatClient c(ex);
    co_await c.connect(server.port());
    c.ws().send_binary("\x01\x02");
    EXPECT_EQ(co_await c.expect_close(), 1003);
  });
  std::string metrics = http_get(server.port(), "/metrics").body;
  EXPECT_NE(metrics.find("loopchat_closes_total{code=\"1003\"} 1"), std::string::npos) << metrics;
}

TEST(Errors, InvalidUtf8ClosesWith1007) {
  ServerProcess server;
  run_async([&]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    ChatClient c(ex);
    co_await c.connect(server.port());
    c.send_text("{\"type\":\"ping\",\"x\":\"\xff\xfe\"}");
    EXPECT_EQ(co_await c.expect_close(), 1007);
  });
}

}  // namespace
}  // namespace loopchat::test
