// Outbound fetches through the real server: a local HTTP server on the
// test's loop, the server allowed to reach loopback with --fetch-allow.
#include <dirent.h>

#include <csignal>

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

// Descriptors the process has open now (entries of /proc/PID/fd).
int open_fds(pid_t pid) {
  int count = 0;
  if (DIR* dir = opendir(("/proc/" + std::to_string(pid) + "/fd").c_str())) {
    while (const dirent* entry = readdir(dir))
      if (entry->d_name[0] != '.') ++count;
    closedir(dir);
  }
  return count;
}

// Polls `done` every 5 ms until it holds or `limit` passes.
asio::awaitable<bool> eventually(const std::function<bool()>& done,
                                 std::chrono::milliseconds limit) {
  asio::steady_timer poll(co_await asio::this_coro::executor);
  const auto deadline = Clock::now() + limit;
  while (!done() && Clock::now() < deadline) {
    poll.expires_after(std::chrono::milliseconds(5));
    co_await poll.async_wait(asio::use_awaitable);
  }
  co_return done();
}

// A DNS server that never answers: a UDP socket nobody reads. Its kernel
// buffer shows whether a query came.
struct DeafDnsServer {
  asio::io_context io;
  asio::ip::udp::socket socket{io, {asio::ip::make_address("127.0.0.1"), 0}};
  std::string servers() const {
    return "127.0.0.1:" + std::to_string(socket.local_endpoint().port());
  }
  bool queried() const { return socket.available() > 0; }
};

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

TEST(Fetch, OnlyHttpAndHttpsAreFetchedWhateverTheCase) {
  ServerProcess server({"--fetch-allow", "127.0.0.1/32"});
  run_async([&]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    TestHttpServer web(io_of(ex));
    ChatClient c(ex);
    co_await c.connect(server.port());
    const auto port = std::to_string(web.port());
    for (const std::string& url : std::vector<std::string>{
             "javascript:alert(1)", "JAVASCRIPT:alert(1)", "data:text/html,<title>x</title>",
             "file:///etc/passwd", "ftp://127.0.0.1:" + port + "/", "gopher://127.0.0.1/",
             "mailto:a@example.com", "ws://127.0.0.1:" + port + "/",
             // No scheme at all is not http either.
             "example.com/", "127.0.0.1:" + port + "/title", "//127.0.0.1:" + port + "/title",
             ""}) {
      c.send({{"type", "fetch"}, {"url", url}, {"id", url}});
      json e = co_await c.expect_error("fetch_denied");
      EXPECT_EQ(e["id"], url);
    }
    // A redirect to another scheme is denied too.
    c.send({{"type", "fetch"}, {"url", web.url("/redirect-to?url=javascript:alert(1)")}});
    co_await c.expect_error("fetch_denied");
    // Schemes are case-insensitive (RFC 3986): HTTP: is http.
    const auto upper = "HTTP" + web.url("/title").substr(4);
    c.send({{"type", "fetch"}, {"url", upper}});
    json fetched = co_await c.expect("fetched");
    EXPECT_EQ(fetched["status"], 200);
    EXPECT_EQ(fetched["url"], upper);
    EXPECT_EQ(fetched["title"], std::string(TestHttpServer::kTitle));
    EXPECT_EQ(web.stats().requests, 2u);  // the redirect and the HTTP: one
  });
}

// Passes once the codec encodes Fetched::truncated (the codec branch of issue 9).
TEST(Fetch, ABodyCutAtTheLimitIsReportedAsTruncated) {
  ServerProcess server({"--fetch-allow", "127.0.0.1/32", "--fetch-max-bytes", "65536"});
  run_async([&]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    TestHttpServer web(io_of(ex));
    ChatClient c(ex);
    co_await c.connect(server.port());
    c.send({{"type", "fetch"}, {"url", web.url("/big")}});
    json fetched = co_await c.expect("fetched");
    EXPECT_EQ(fetched["status"], 200);
    EXPECT_EQ(fetched["bytes"], 65536);
    EXPECT_EQ(fetched.value("truncated", false), true) << fetched.dump();
    // A body within the limit is whole: no truncated.
    c.send({{"type", "fetch"}, {"url", web.url("/text")}});
    fetched = co_await c.expect("fetched");
    EXPECT_EQ(fetched["bytes"], 25);
    EXPECT_EQ(fetched.value("truncated", false), false) << fetched.dump();
  });
}

TEST(Fetch, ALeavingClientsLookupEndsAtOnce) {
  DeafDnsServer dns;
  ServerProcess server({"--dns-servers", dns.servers()});  // c-ares would wait 2 s, then 4 s
  run_async([&]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    ChatClient leaver(ex);
    co_await leaver.connect(server.port());
    const int connected = open_fds(server.pid());
    leaver.send({{"type", "fetch"}, {"url", "http://deaf.test/"}});
    CO_REQUIRE(co_await eventually([&] { return dns.queried(); }, std::chrono::seconds(5)));
    EXPECT_EQ(open_fds(server.pid()), connected + 1);  // the lookup's socket
    leaver.ws().abort();
    // The client's socket and the lookup's both close, long before c-ares's timeout.
    EXPECT_TRUE(co_await eventually([&] { return open_fds(server.pid()) == connected - 1; },
                                    std::chrono::seconds(1)))
        << open_fds(server.pid()) << " descriptors open, " << connected - 1 << " expected";
  });
}

TEST(Fetch, SigtermWithALookupPendingExitsWithinTheDrainTimeout) {
  DeafDnsServer dns;
  ServerProcess server({"--dns-servers", dns.servers(), "--drain-timeout-ms", "500"});
  run_async([&]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    ChatClient c(ex);
    co_await c.connect(server.port());
    c.send({{"type", "fetch"}, {"url", "http://deaf.test/"}});
    CO_REQUIRE(co_await eventually([&] { return dns.queried(); }, std::chrono::seconds(5)));
    server.signal(SIGTERM);
    EXPECT_EQ(co_await c.expect_close(), 1001);
  });
  // Drain timeout plus one second; before, the lookup kept the loop for 6 s.
  auto status = server.wait_exit(std::chrono::milliseconds(1500));
  ASSERT_TRUE(status.has_value()) << "server still running 1.5 s after SIGTERM";
  EXPECT_EQ(*status, 0);
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
    const auto five_s = std::chrono::seconds(5);
    CO_REQUIRE(co_await eventually([&] { return web.stats().hangs_open == 1; }, five_s));
    leaver.ws().abort();
    // Closed by the cancel: the fetch timeout is 60 s.
    EXPECT_TRUE(
        co_await eventually([&] { return web.stats().hangs_closed == closed_before + 1; }, five_s));
  });
}

}  // namespace
}  // namespace loopchat::test
