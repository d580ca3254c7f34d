// Outbound fetches through the real server: a local HTTP server on the
// test's loop, the server allowed to reach loopback with --fetch-allow.
#include <gtest/gtest.h>

#include "tests/support/chat_client.hpp"
#include "tests/support/server_process.hpp"
#include "tests/support/test_http_server.hpp"

namespace loopchat::test {
namespace {

using Clock = std::chrono::steady_clock;

asio::io_context& io_of(const asio::any_io_executor& ex) {
  return static_cast<asio::io_context&>(asio::query(ex, asio::execution::context));
}

TEST(Fetch, TitleAndLinkPreviewToTheRoom) {
  ServerProcess server({"--fetch-allow", "127.0.0.0/8"});
  run_async([&]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    TestHttpServer web(io_of(ex));
    ChatClient alice(ex), bob(ex);
    co_await alice.connect(server.port());
    co_await bob.connect(server.port());
    co_await alice.join("links");
    co_await bob.join("links");
    co_await alice.expect("presence");

    alice.send({{"type", "fetch"}, {"url", web.url("/title")}, {"room", "links"}, {"id", "f"}});
    json fetched = co_await alice.wait_for("fetched");
    EXPECT_EQ(fetched["id"], "f");
    EXPECT_EQ(fetched["status"], 200);
    EXPECT_EQ(fetched["url"], web.url("/title"));
    EXPECT_EQ(fetched["title"], std::string(TestHttpServer::kTitle));
    EXPECT_GT(fetched["bytes"].get<int>(), 0);
    EXPECT_GE(fetched["ms"].get<int>(), 0);
    json preview = co_await bob.expect("message");
    EXPECT_EQ(preview["from"], alice.name());
    EXPECT_NE(preview["text"].get<std::string>().find(std::string(TestHttpServer::kTitle)),
              std::string::npos);
    EXPECT_NE(preview["text"].get<std::string>().find(web.url("/title")), std::string::npos);

    // Plain text has no title; an error status is still a result.
    alice.send({{"type", "fetch"}, {"url", web.url("/text")}});
    fetched = co_await alice.wait_for("fetched");
    EXPECT_FALSE(fetched.contains("title"));
    alice.send({{"type", "fetch"}, {"url", web.url("/status/503")}});
    fetched = co_await alice.wait_for("fetched");
    EXPECT_EQ(fetched["status"], 503);
    alice.send({{"type", "fetch"}, {"url", web.url("/title")}, {"room", "elsewhere"}});
    co_await alice.expect_error("not_in_room");
  });
}

TEST(Fetch, FiftyConcurrentSlowFetchesWhileTheChatStaysResponsive) {
  ServerProcess server({"--fetch-allow", "127.0.0.0/8", "--max-fetches-per-client", "50"});
  run_async([&]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    TestHttpServer web(io_of(ex));
    ChatClient fetcher(ex), probe(ex);
    co_await fetcher.connect(server.port());
    co_await probe.connect(server.port());
    co_await fetcher.join("f");
    constexpr int kFetches = 50;
    auto started = Clock::now();
    for (int i = 0; i < kFetches; ++i)
      fetcher.send({{"type", "fetch"}, {"url", web.url("/delay/1000")}, {"id", i}});
    for (int i = 0; i < 5; ++i)
      fetcher.send({{"type", "remind"}, {"after_ms", 300 + 100 * i}, {"text", "tick"}});

    // Meanwhile the probe's pings come back quickly, on the same server thread.
    bool done = false;
    int answered = 0;
    asio::co_spawn(
        ex,
        [&]() -> asio::awaitable<void> {
          asio::steady_timer gap(ex);
          while (!done) {
            auto sent = Clock::now();
            probe.send({{"type", "ping"}});
            co_await probe.expect("pong");
            EXPECT_LT(Clock::now() - sent, std::chrono::milliseconds(250));
            EXPECT_EQ(server.thread_count(), 1);
            gap.expires_after(std::chrono::milliseconds(20));
            co_await gap.async_wait(asio::use_awaitable);
          }
        },
        asio::detached);
    int reminders = 0;
    while (answered < kFetches || reminders < 5) {
      json frame = co_await fetcher.next();
      if (frame["type"] == "fetched") {
        EXPECT_EQ(frame["status"], 200);
        ++answered;
      } else if (frame["type"] == "reminder") {
        ++reminders;
      } else {
        throw TestFailure("unexpected " + frame.dump());
      }
    }
    done = true;
    // Sequentially this would take 50 s.
    EXPECT_LT(Clock::now() - started, std::chrono::seconds(5));
    EXPECT_EQ(server.thread_count(), 1);
  });
}

TEST(Fetch, DeniedTimeoutAndLimits) {
  ServerProcess server({"--fetch-allow", "127.0.0.1/32", "--fetch-timeout-ms", "300",
                        "--max-fetches-per-client", "2", "--fetch-max-redirects", "2"});
  run_async([&]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    TestHttpServer web(io_of(ex));
    ChatClient c(ex);
    co_await c.connect(server.port());

    for (const char* url : {"ftp://127.0.0.1/x", "file:///etc/passwd", "gopher://127.0.0.1/"}) {
      c.send({{"type", "fetch"}, {"url", url}});
      co_await c.expect_error("fetch_denied");
    }
    // Only 127.0.0.1 is allowed: 127.0.0.2 and a redirect there are refused.
    c.send({{"type", "fetch"}, {"url", web.url_for_host("127.0.0.2", "/title")}});
    co_await c.expect_error("fetch_denied");
    c.send({{"type", "fetch"},
            {"url", web.url("/redirect-to?url=") + web.url_for_host("127.0.0.2", "/title")}});
    co_await c.expect_error("fetch_denied");
    c.send({{"type", "fetch"}, {"url", web.url("/redirect/3")}});
    co_await c.expect_error("fetch_failed");
    c.send({{"type", "fetch"}, {"url", "http://127.0.0.1:1/"}});
    co_await c.expect_error("fetch_failed");
    c.send({{"type", "fetch"}, {"url", web.url("/hang")}, {"id", "t"}});
    json e = co_await c.expect_error("fetch_timeout");
    EXPECT_EQ(e["id"], "t");

    // Two in flight per client; the third is refused.
    c.send({{"type", "fetch"}, {"url", web.url("/hang")}});
    c.send({{"type", "fetch"}, {"url", web.url("/hang")}});
    c.send({{"type", "fetch"}, {"url", web.url("/hang")}});
    co_await c.expect_error("server_busy");
    co_await c.expect_error("fetch_timeout");
    co_await c.expect_error("fetch_timeout");
  });
}

TEST(Fetch, ByDefaultNothingInwardIsReachable) {
  ServerProcess server;
  run_async([&]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    TestHttpServer web(io_of(ex));
    ChatClient c(ex);
    co_await c.connect(server.port());
    // By address, by a name that resolves to loopback, via IPv6 and mapped forms.
    for (const std::string& url :
         {web.url("/title"), web.url_for_host("localhost", "/title"),
          std::string("http://[::1]:") + std::to_string(web.port()) + "/title",
          std::string("http://[::ffff:127.0.0.1]:") + std::to_string(web.port()) + "/title",
          std::string("http://10.0.0.1/"),
          std::string("http://169.254.169.254/latest/meta-data/")}) {
      c.send({{"type", "fetch"}, {"url", url}});
      co_await c.expect_error("fetch_denied");
    }
    EXPECT_EQ(web.stats().requests, 0u);
  });
}

TEST(Fetch, ALeavingClientsFetchIsCancelled) {
  ServerProcess server({"--fetch-allow", "127.0.0.1/32", "--fetch-timeout-ms", "60000"});
  run_async([&]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    TestHttpServer web(io_of(ex));
    // A client that leaves mid-fetch: its fetch is cancelled, the connection closed.
    ChatClient leaver(ex);
    co_await leaver.connect(server.port());
    auto closed_before = web.stats().hangs_closed;
    leaver.send({{"type", "fetch"}, {"url", web.url("/hang")}});
    asio::steady_timer poll(ex);
    auto deadline = Clock::now() + std::chrono::seconds(5);
    while (web.stats().hangs_open == 0 && Clock::now() < deadline) {
      poll.expires_after(std::chrono::milliseconds(5));
      co_await poll.async_wait(asio::use_awaitable);
    }
    CO_REQUIRE(web.stats().hangs_open == 1);
    leaver.ws().abort();
    while (web.stats().hangs_closed == closed_before && Clock::now() < deadline) {
      poll.expires_after(std::chrono::milliseconds(5));
      co_await poll.async_wait(asio::use_awaitable);
    }
    // Closed by the cancel: the fetch timeout is 60 s.
    EXPECT_EQ(web.stats().hangs_closed, closed_before + 1);
  });
}

}  // namespace
}  // namespace loopchat::test
