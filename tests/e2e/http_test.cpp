// Plain HTTP on the WebSocket port.
#include <gtest/gtest.h>

#include "tests/support/chat_client.hpp"
#include "tests/support/server_process.hpp"

namespace loopchat::test {
namespace {

TEST(Http, HealthzPageMetricsAnd404) {
  ServerProcess server;
  HttpResult health = http_get(server.port(), "/healthz");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.body, "ok");

  HttpResult page = http_get(server.port(), "/");
  EXPECT_EQ(page.status, 200);
  EXPECT_NE(page.headers.find("text/html"), std::string::npos);
  EXPECT_NE(page.body.find("<html"), std::string::npos);

  EXPECT_EQ(http_get(server.port(), "/nope").status, 404);
  EXPECT_EQ(http_get(server.port(), "/healthz/../etc/passwd").status, 404);

  HttpResult metrics = http_get(server.port(), "/metrics");
  EXPECT_EQ(metrics.status, 200);
  for (const char* name :
       {"loopchat_connections ", "loopchat_rooms ", "loopchat_frames_in_total ",
        "loopchat_frames_out_total ", "loopchat_bytes_in_total ", "loopchat_bytes_out_total ",
        "loopchat_errors_total{code=\"bad_json\"} ", "# TYPE loopchat_closes_total counter"})
    EXPECT_NE(metrics.body.find(name), std::string::npos) << name;
}

TEST(Http, MetricsCountConnectionsAndFrames) {
  ServerProcess server;
  run_async([&]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    ChatClient a(ex), b(ex);
    co_await a.connect(server.port());
    co_await b.connect(server.port());
    co_await a.join("m");
    a.send({{"type", "say"}, {"room", "m"}, {"text", "x"}});
    co_await a.expect("message");
    std::string body = http_get(server.port(), "/metrics").body;
    EXPECT_NE(body.find("loopchat_connections 2\n"), std::string::npos) << body;
    EXPECT_NE(body.find("loopchat_rooms 1\n"), std::string::npos);
    EXPECT_NE(body.find("loopchat_frames_in_total 2\n"), std::string::npos);
    EXPECT_NE(body.find("loopchat_messages_out_total 1\n"), std::string::npos);
  });
}

TEST(Http, UpgradeElsewhereThanWsIs404) {
  ServerProcess server;
  run_async([&]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    client::WsClient ws(ex);
    // Named, not a temporary in the co_await: GCC 12 destroys such temporaries twice.
    client::WsUrl url{"127.0.0.1", server.port(), "/chat"};
    std::error_code ec = co_await ws.connect(url);
    EXPECT_TRUE(ec);
    EXPECT_EQ(ws.http_status(), 404);
  });
}

TEST(Http, ConnectionLimitAnswers503AtTheUpgrade) {
  ServerProcess server({"--max-connections", "2"});
  run_async([&]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    ChatClient a(ex), b(ex);
    co_await a.connect(server.port());
    co_await b.connect(server.port());
    client::WsClient third(ex);
    client::WsUrl url{"127.0.0.1", server.port(), "/ws"};
    std::error_code ec = co_await third.connect(url);
    EXPECT_TRUE(ec);
    EXPECT_EQ(third.http_status(), 503);
    // The others are still served; a freed slot can be taken again.
    a.send({{"type", "ping"}});
    co_await a.expect("pong");
    b.ws().send_close(1000);
    co_await b.expect_close();
    // b's slot is free once its TCP connection has ended; until then it counts.
    bool upgraded = false;
    for (auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
         !upgraded && std::chrono::steady_clock::now() < deadline;) {
      client::WsClient d(ex);
      upgraded = !co_await d.connect(url);
      if (!upgraded) {
        EXPECT_EQ(d.http_status(), 503);
      }
    }
    EXPECT_TRUE(upgraded);
  });
}

}  // namespace
}  // namespace loopchat::test
