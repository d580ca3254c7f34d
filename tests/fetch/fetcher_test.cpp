// The Fetcher against local servers, everything on one io_context in this
// (single-threaded) test process. Each test is bounded by a deadline.
#include "server/fetch/fetcher.hpp"

#include <dirent.h>

#include <gtest/gtest.h>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

#include "tests/fetch/test_dns_server.hpp"
#include "tests/support/test_http_server.hpp"

namespace loopchat {
namespace {

using namespace std::chrono_literals;
using protocol::ErrorCode;
using test::TestHttpServer;
using Clock = std::chrono::steady_clock;

// What became of one start(): refused at once, or the callback's outcome.
struct Call {
  std::optional<FetchFailure> refused;
  std::optional<FetchOutcome> outcome;
  int callbacks = 0;

  bool ended() const { return refused || outcome; }
  const FetchResult& result() const {
    if (refused) ADD_FAILURE() << "refused: " << refused->message;
    if (outcome && std::holds_alternative<FetchFailure>(*outcome))
      ADD_FAILURE() << "failed: " << std::get<FetchFailure>(*outcome).message;
    static const FetchResult none;
    return outcome && std::holds_alternative<FetchResult>(*outcome)
               ? std::get<FetchResult>(*outcome)
               : none;
  }
  FetchFailure failure() const {
    if (refused) return *refused;
    if (outcome && std::holds_alternative<FetchFailure>(*outcome))
      return std::get<FetchFailure>(*outcome);
    ADD_FAILURE() << "did not fail";
    return {ErrorCode::bad_request, ""};
  }
};

std::size_t thread_count() {
  std::size_t count = 0;
  if (DIR* dir = opendir("/proc/self/task")) {
    while (const dirent* entry = readdir(dir))
      if (entry->d_name[0] != '.') ++count;
    closedir(dir);
  }
  return count;
}

FetchLimits loopback_allowed() {
  FetchLimits limits;
  limits.allow_cidrs = {"127.0.0.0/8"};
  return limits;
}

class FetcherTest : public ::testing::Test {
 protected:
  asio::io_context io{1};
  TestHttpServer server{io};

  std::shared_ptr<Call> fetch(Fetcher& fetcher, const std::string& url,
                              FetchOwner owner = nullptr) {
    auto call = std::make_shared<Call>();
    call->refused = fetcher.start(url, owner, [call](FetchOutcome outcome) {
      call->outcome = std::move(outcome);
      ++call->callbacks;
    });
    return call;
  }

  // Runs the loop until `done` holds; false if `limit` passes first.
  bool run_until(const std::function<bool()>& done, Clock::duration limit = 10s) {
    const auto deadline = Clock::now() + limit;
    while (!done()) {
      const auto now = Clock::now();
      if (now >= deadline) return false;
      if (io.run_one_for(deadline - now) == 0 && io.stopped()) io.restart();
    }
    return true;
  }

  void run_for(Clock::duration span) {
    const auto deadline = Clock::now() + span;
    run_until([&] { return Clock::now() >= deadline; }, span + 1s);
  }

  std::shared_ptr<Call> fetch_and_wait(Fetcher& fetcher, const std::string& url) {
    auto call = fetch(fetcher, url);
    EXPECT_TRUE(run_until([&] { return call->ended(); })) << url;
    return call;
  }

  std::uint16_t closed_port() {
    asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
    return acceptor.local_endpoint().port();
  }
};

// ---------------------------------------------------------------- results

TEST_F(FetcherTest, FetchesATitle) {
  Fetcher fetcher(io, loopback_allowed());
  const auto url = server.url("/title");
  auto call = fetch_and_wait(fetcher, url);
  const auto& result = call->result();
  EXPECT_EQ(result.status, 200);
  EXPECT_EQ(result.title, std::string(TestHttpServer::kTitle));
  EXPECT_GT(result.bytes, 100u);
  EXPECT_GE(result.ms, 0);
  EXPECT_LT(result.ms, 5000);
  EXPECT_EQ(result.url, url);
  EXPECT_EQ(call->callbacks, 1);
  EXPECT_EQ(fetcher.in_flight(), 0u);
  EXPECT_EQ(fetcher.counters().started, 1u);
  EXPECT_EQ(fetcher.counters().succeeded, 1u);
}

TEST_F(FetcherTest, PlainTextHasNoTitle) {
  Fetcher fetcher(io, loopback_allowed());
  auto call = fetch_and_wait(fetcher, server.url("/text"));
  EXPECT_EQ(call->result().status, 200);
  EXPECT_EQ(call->result().bytes, 25u);
  EXPECT_EQ(call->result().title, std::nullopt);
}

TEST_F(FetcherTest, ReportsTheStatusAsReceived) {
  Fetcher fetcher(io, loopback_allowed());
  for (int status : {204, 404, 500, 503}) {
    auto call = fetch_and_wait(fetcher, server.url("/status/" + std::to_string(status)));
    EXPECT_EQ(call->result().status, status);
    EXPECT_EQ(call->result().title, std::nullopt);
  }
}

TEST_F(FetcherTest, FiftyConcurrentFetchesOverlapAndTheLoopStaysResponsive) {
  FetchLimits limits = loopback_allowed();
  limits.max_per_client = 64;
  Fetcher fetcher(io, limits);

  // A probe on the same loop: how late does a 10 ms timer fire?
  asio::steady_timer probe(io);
  Clock::duration worst_lag{};
  std::function<void()> tick = [&] {
    const auto due = Clock::now() + 10ms;
    probe.expires_at(due);
    probe.async_wait([&, due](std::error_code ec) {
      if (ec) return;
      worst_lag = std::max(worst_lag, Clock::now() - due);
      tick();
    });
  };
  tick();

  const auto begin = Clock::now();
  std::vector<std::shared_ptr<Call>> calls;
  for (int i = 0; i < 50; ++i) calls.push_back(fetch(fetcher, server.url("/delay/1000")));
  EXPECT_EQ(fetcher.in_flight(), 50u);
  ASSERT_TRUE(run_until(
      [&] { return std::all_of(calls.begin(), calls.end(), [](auto& c) { return c->ended(); }); },
      10s));
  const auto elapsed = Clock::now() - begin;
  probe.cancel();
  for (const auto& call : calls) {
    EXPECT_EQ(call->result().status, 200);
    EXPECT_GE(call->result().ms, 1000);
  }
  EXPECT_LT(elapsed, 5s);
  EXPECT_LT(worst_lag, 250ms);
}

// ---------------------------------------------------------------- limits

TEST_F(FetcherTest, TimeoutCoversAServerThatNeverAnswers) {
  FetchLimits limits = loopback_allowed();
  limits.timeout_ms = 300;
  Fetcher fetcher(io, limits);
  const auto begin = Clock::now();
  auto call = fetch_and_wait(fetcher, server.url("/hang"));
  const auto elapsed = Clock::now() - begin;
  EXPECT_EQ(call->failure().code, ErrorCode::fetch_timeout);
  EXPECT_GE(elapsed, 300ms);
  EXPECT_LT(elapsed, 2s);
  // The connection was closed, not left hanging.
  EXPECT_TRUE(run_until([&] { return server.stats().hangs_closed == 1; }, 5s));
  EXPECT_EQ(fetcher.counters().failed[static_cast<int>(ErrorCode::fetch_timeout)], 1u);
}

TEST_F(FetcherTest, BodyIsCappedAndTheRestIsNotDownloaded) {
  FetchLimits limits = loopback_allowed();
  limits.max_body_bytes = 64 * 1024;
  Fetcher fetcher(io, limits);
  auto call = fetch_and_wait(fetcher, server.url("/big"));
  const auto& result = call->result();
  EXPECT_EQ(result.status, 200);
  EXPECT_LE(result.bytes, limits.max_body_bytes + 16 * 1024);
  EXPECT_GE(result.bytes, limits.max_body_bytes / 2);
  EXPECT_EQ(result.title, "Big page");
  EXPECT_TRUE(result.truncated);
  // The server sees the connection closed long before the 10 MiB are sent.
  ASSERT_TRUE(run_until([&] { return server.stats().big_closed_early; }, 5s));
  EXPECT_FALSE(server.stats().big_finished);
  EXPECT_LT(server.stats().big_bytes_sent, TestHttpServer::kBigBytes);
}

TEST_F(FetcherTest, TruncatedOnlyWhenTheBodyIsLongerThanTheLimit) {
  // /text is 25 bytes: a limit of 25 holds all of it, 24 cuts one.
  for (const std::size_t limit : {1000u, 25u, 24u, 1u}) {
    FetchLimits limits = loopback_allowed();
    limits.max_body_bytes = limit;
    Fetcher fetcher(io, limits);
    auto call = fetch_and_wait(fetcher, server.url("/text"));
    EXPECT_EQ(call->result().status, 200) << limit;
    EXPECT_EQ(call->result().bytes, std::min<std::size_t>(limit, 25)) << limit;
    EXPECT_EQ(call->result().truncated, limit < 25) << limit;
  }
}

TEST_F(FetcherTest, TruncatedIsAboutTheLastHopOnly) {
  FetchLimits limits = loopback_allowed();
  limits.max_body_bytes = 30;
  Fetcher fetcher(io, limits);
  auto call = fetch_and_wait(fetcher, server.url("/redirect-to?url=" + server.url("/text")));
  EXPECT_EQ(call->result().bytes, 25u);
  EXPECT_FALSE(call->result().truncated);
}

TEST_F(FetcherTest, RedirectsWithinTheLimitAreFollowed) {
  Fetcher fetcher(io, loopback_allowed());  // max_redirects 3
  auto call = fetch_and_wait(fetcher, server.url("/redirect/3"));
  EXPECT_EQ(call->result().status, 200);
  EXPECT_EQ(call->result().title, std::string(TestHttpServer::kTitle));
  EXPECT_EQ(call->result().url, server.url("/redirect/3"));
  EXPECT_EQ(call->result().final_url, server.url("/title"));
  EXPECT_EQ(fetcher.counters().redirects, 3u);
}

TEST_F(FetcherTest, RedirectsBeyondTheLimitFail) {
  Fetcher fetcher(io, loopback_allowed());
  auto call = fetch_and_wait(fetcher, server.url("/redirect/4"));
  EXPECT_EQ(call->failure().code, ErrorCode::fetch_failed);
  EXPECT_NE(call->failure().message.find("too many redirects"), std::string::npos);
  EXPECT_EQ(server.stats().requests, 4u);  // the fifth hop is never requested
}

TEST_F(FetcherTest, PerClientLimitThenGlobalLimit) {
  FetchLimits limits = loopback_allowed();
  limits.max_per_client = 4;
  limits.max_concurrent = 6;
  Fetcher fetcher(io, limits);
  int a, b, c;
  std::vector<std::shared_ptr<Call>> calls;
  for (int i = 0; i < 4; ++i) calls.push_back(fetch(fetcher, server.url("/hang"), &a));
  for (const auto& call : calls) EXPECT_FALSE(call->refused);
  auto fifth = fetch(fetcher, server.url("/hang"), &a);
  ASSERT_TRUE(fifth->refused);
  EXPECT_EQ(fifth->refused->code, ErrorCode::server_busy);

  calls.push_back(fetch(fetcher, server.url("/hang"), &b));
  calls.push_back(fetch(fetcher, server.url("/hang"), &b));
  EXPECT_FALSE(calls.back()->refused);
  auto seventh = fetch(fetcher, server.url("/hang"), &c);
  ASSERT_TRUE(seventh->refused);
  EXPECT_EQ(seventh->refused->code, ErrorCode::server_busy);
  EXPECT_EQ(fetcher.in_flight(), 6u);
  EXPECT_EQ(fetcher.in_flight(&a), 4u);

  fetcher.cancel_all(&a);
  EXPECT_EQ(fetcher.in_flight(), 2u);
  EXPECT_FALSE(fetch(fetcher, server.url("/hang"), &c)->refused);
  fetcher.cancel_all(&b);
  fetcher.cancel_all(&c);
  EXPECT_EQ(fetcher.in_flight(), 0u);
  run_for(50ms);
  for (const auto& call : calls) EXPECT_EQ(call->callbacks, 0);
  EXPECT_EQ(fetcher.counters().failed[static_cast<int>(ErrorCode::server_busy)], 2u);
}

// ---------------------------------------------------------------- policy

TEST_F(FetcherTest, OnlyHttpAndHttpsSchemes) {
  Fetcher fetcher(io, loopback_allowed());
  const auto port = std::to_string(server.port());
  for (const std::string& url : std::vector<std::string>{
           "ftp://127.0.0.1/file", "file:///etc/passwd", "gopher://127.0.0.1/",
           "dict://127.0.0.1:11211/stat", "ldap://127.0.0.1/", "FTP://example.com/",
           "javascript:alert(1)", "JavaScript://%0aalert(1)", "data:text/html,<title>x</title>",
           "mailto:someone@example.com", "ws://127.0.0.1:" + port + "/", "https+evil://x/",
           "localhost:" + port + "/title"}) {
    auto call = fetch(fetcher, url);
    ASSERT_TRUE(call->refused) << url;
    EXPECT_EQ(call->refused->code, ErrorCode::fetch_denied) << url;
    EXPECT_NE(call->refused->message.find("is not allowed"), std::string::npos)
        << call->refused->message;
  }
  // Without a scheme a string is no URL to fetch: denied the same way.
  for (const std::string& url : std::vector<std::string>{
           "", "not a url", "127.0.0.1:" + port + "/title", "//127.0.0.1:" + port + "/title",
           "/title", ":http://127.0.0.1/", " http://127.0.0.1:" + port + "/title",
           "h%74tp://127.0.0.1:" + port + "/title"}) {
    auto call = fetch(fetcher, url);
    ASSERT_TRUE(call->refused) << url;
    EXPECT_EQ(call->refused->code, ErrorCode::fetch_denied) << url;
    EXPECT_NE(call->refused->message.find("no scheme"), std::string::npos)
        << call->refused->message;
  }
  for (const char* url : {"http://", "http://exa mple.com/", "https://"}) {
    auto call = fetch(fetcher, url);
    ASSERT_TRUE(call->refused) << url;
    EXPECT_EQ(call->refused->code, ErrorCode::fetch_failed) << url;
  }
  run_for(20ms);
  EXPECT_EQ(server.stats().requests, 0u);
}

TEST_F(FetcherTest, SchemesAreCaseInsensitive) {
  Fetcher fetcher(io, loopback_allowed());
  for (const char* scheme : {"HTTP", "Http", "hTtP"}) {
    auto call = fetch_and_wait(fetcher, scheme + server.url("/title").substr(4));
    EXPECT_EQ(call->result().status, 200) << scheme;
    EXPECT_EQ(call->result().title, std::string(TestHttpServer::kTitle)) << scheme;
  }
  // HTTPS: is https, here TLS to a plain-HTTP server: a failure, not a denial.
  auto call = fetch_and_wait(fetcher, "HTTPS" + server.url("/title").substr(4));
  EXPECT_EQ(call->failure().code, ErrorCode::fetch_failed);
}

TEST_F(FetcherTest, LoopbackIsDeniedByDefault) {
  Fetcher fetcher(io, FetchLimits{});
  const auto port = std::to_string(server.port());
  for (const std::string& url : std::vector<std::string>{
           server.url("/title"), "http://127.0.0.2:" + port + "/title",
           "http://[::1]:" + port + "/title", "http://[::ffff:127.0.0.1]:" + port + "/title",
           "http://2130706433:" + port + "/title", "http://0x7f.1:" + port + "/title",
           "http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/", "http://[fd00::1]/"}) {
    auto call = fetch(fetcher, url);
    ASSERT_TRUE(run_until([&] { return call->ended(); }, 5s)) << url;
    EXPECT_EQ(call->failure().code, ErrorCode::fetch_denied) << url;
  }
  EXPECT_EQ(server.stats().requests, 0u);
}

TEST_F(FetcherTest, RedirectToADeniedAddressIsRefused) {
  FetchLimits limits;
  limits.allow_cidrs = {"127.0.0.1/32"};
  Fetcher fetcher(io, limits);
  const auto target = server.url_for_host("127.0.0.2", "/title");
  auto call = fetch_and_wait(fetcher, server.url("/redirect-to?url=" + target));
  EXPECT_EQ(call->failure().code, ErrorCode::fetch_denied);
  EXPECT_NE(call->failure().message.find("127.0.0.2"), std::string::npos);
  EXPECT_EQ(server.stats().requests, 1u);
}

TEST_F(FetcherTest, RedirectToADeniedSchemeIsRefused) {
  Fetcher fetcher(io, loopback_allowed());
  for (const char* target : {"ftp://127.0.0.1/x", "file:///etc/passwd", "gopher://127.0.0.1/",
                             "javascript:alert(1)", "data:text/plain,x", "mailto:a@b.test"}) {
    auto call = fetch_and_wait(fetcher, server.url(std::string("/redirect-to?url=") + target));
    EXPECT_EQ(call->failure().code, ErrorCode::fetch_denied) << target;
    EXPECT_NE(call->failure().message.find("redirect refused"), std::string::npos)
        << call->failure().message;
  }
  // A relative Location keeps the current scheme; an uppercase one is http.
  for (const std::string& target : std::vector<std::string>{
           std::string("/title"),
           std::string("//127.0.0.1:") + std::to_string(server.port()) + "/title",
           "HTTP" + server.url("/title").substr(4)}) {
    auto call = fetch_and_wait(fetcher, server.url("/redirect-to?url=" + target));
    EXPECT_EQ(call->result().status, 200) << target;
  }
}

TEST_F(FetcherTest, TheCheckAtConnectTimeRefusesOnItsOwn) {
  Fetcher fetcher(io, FetchLimits{});
  fetcher.disable_early_checks_for_testing();
  for (const auto& url : {server.url("/title"), server.url_for_host("localhost", "/title")}) {
    auto call = fetch_and_wait(fetcher, url);
    EXPECT_EQ(call->failure().code, ErrorCode::fetch_denied) << url;
    EXPECT_NE(call->failure().message.find("127.0.0.1 (loopback)"), std::string::npos)
        << call->failure().message;
  }
  EXPECT_EQ(server.stats().requests, 0u);
}

TEST_F(FetcherTest, HostnameResolvingToLoopbackIsDenied) {
  // c-ares reads /etc/hosts: localhost is 127.0.0.1.
  Fetcher fetcher(io, FetchLimits{});
  auto call = fetch_and_wait(fetcher, server.url_for_host("localhost", "/title"));
  EXPECT_EQ(call->failure().code, ErrorCode::fetch_denied);
  EXPECT_NE(call->failure().message.find("localhost resolves to 127.0.0.1"), std::string::npos)
      << call->failure().message;
  EXPECT_EQ(server.stats().requests, 0u);
}

TEST_F(FetcherTest, HostnameAllowedByTheAllowList) {
  Fetcher fetcher(io, loopback_allowed());
  auto call = fetch_and_wait(fetcher, server.url_for_host("localhost", "/title"));
  EXPECT_EQ(call->result().status, 200);
  EXPECT_EQ(call->result().title, std::string(TestHttpServer::kTitle));
}

// ---------------------------------------------------------------- DNS on the loop

class FetcherDnsTest : public FetcherTest {
 protected:
  test::TestDnsServer dns{io};
  DnsOptions options() {
    DnsOptions options;
    options.servers = dns.servers();
    options.query_timeout_ms = 200;
    options.tries = 1;
    return options;
  }
  void SetUp() override {
    dns.add("good.test", asio::ip::make_address("127.0.0.1"));
    dns.add("evil.test", asio::ip::make_address("127.0.0.1"));
    dns.add("evil6.test", asio::ip::make_address("::1"));
    dns.add("metadata.test", asio::ip::make_address("169.254.169.254"));
    dns.silent("silent.test");
  }
};

TEST_F(FetcherDnsTest, ResolvesThroughDnsAndFetches) {
  Fetcher fetcher(io, loopback_allowed(), options());
  auto call = fetch_and_wait(fetcher, server.url_for_host("good.test", "/title"));
  EXPECT_EQ(call->result().status, 200);
  EXPECT_EQ(call->result().title, std::string(TestHttpServer::kTitle));
  EXPECT_GE(dns.queries(), 1u);
}

TEST_F(FetcherDnsTest, DnsAnswersPointingInwardAreDenied) {
  Fetcher fetcher(io, FetchLimits{}, options());
  for (const char* host : {"evil.test", "evil6.test", "metadata.test"}) {
    auto call = fetch_and_wait(fetcher, server.url_for_host(host, "/title"));
    EXPECT_EQ(call->failure().code, ErrorCode::fetch_denied) << host;
  }
  EXPECT_EQ(server.stats().requests, 0u);
}

TEST_F(FetcherDnsTest, UnknownNameFails) {
  Fetcher fetcher(io, FetchLimits{}, options());
  auto call = fetch_and_wait(fetcher, "http://nx.test/");
  EXPECT_EQ(call->failure().code, ErrorCode::fetch_failed);
  EXPECT_NE(call->failure().message.find("cannot resolve nx.test"), std::string::npos)
      << call->failure().message;
}

TEST_F(FetcherDnsTest, TimeoutCoversTheLookup) {
  FetchLimits limits;
  limits.timeout_ms = 300;
  auto slow = options();
  slow.query_timeout_ms = 5000;
  Fetcher fetcher(io, limits, slow);
  auto call = fetch_and_wait(fetcher, "http://silent.test/");
  EXPECT_EQ(call->failure().code, ErrorCode::fetch_timeout);
}

// ---------------------------------------------------------------- failures

TEST_F(FetcherTest, ConnectionRefusedFails) {
  Fetcher fetcher(io, loopback_allowed());
  auto call = fetch_and_wait(fetcher, "http://127.0.0.1:" + std::to_string(closed_port()) + "/");
  EXPECT_EQ(call->failure().code, ErrorCode::fetch_failed);
  EXPECT_FALSE(call->failure().message.empty());
}

TEST_F(FetcherTest, TlsErrorFails) {
  Fetcher fetcher(io, loopback_allowed());
  auto url = server.url("/title");
  url.replace(0, 4, "https");  // TLS to a plain-HTTP server
  auto call = fetch_and_wait(fetcher, url);
  EXPECT_EQ(call->failure().code, ErrorCode::fetch_failed);
  EXPECT_FALSE(call->failure().message.empty());
}

// ---------------------------------------------------------------- lifetime

TEST_F(FetcherDnsTest, CancelAllStopsEverythingOfOneOwner) {
  Fetcher fetcher(io, loopback_allowed(), options());
  int gone, staying;
  std::vector<std::shared_ptr<Call>> cancelled = {
      fetch(fetcher, server.url("/hang"), &gone),
      fetch(fetcher, server.url("/delay/3000"), &gone),
      fetch(fetcher, "http://silent.test/", &gone),  // a lookup in flight
      fetch(fetcher, server.url("/redirect/2"), &gone),
  };
  auto kept = fetch(fetcher, server.url("/delay/200"), &staying);
  ASSERT_TRUE(run_until([&] { return server.stats().hangs_open == 1; }, 5s));
  EXPECT_EQ(fetcher.resolver().pending(), 1u);
  EXPECT_GE(fetcher.resolver().open_sockets(), 1u);
  fetcher.cancel_all(&gone);
  EXPECT_EQ(fetcher.in_flight(), 1u);
  EXPECT_EQ(fetcher.in_flight(&gone), 0u);
  // The lookup ended with it, its socket closed: c-ares cannot cancel one
  // query of a channel, but each lookup has a channel of its own.
  EXPECT_EQ(fetcher.resolver().pending(), 0u);
  EXPECT_EQ(fetcher.resolver().open_sockets(), 0u);
  ASSERT_TRUE(run_until([&] { return kept->ended(); }, 5s));
  EXPECT_EQ(kept->result().status, 200);
  EXPECT_TRUE(run_until([&] { return server.stats().hangs_closed == 1; }, 5s));
  run_for(300ms);  // past c-ares's query timeout: no late callback
  for (const auto& call : cancelled) {
    EXPECT_FALSE(call->refused);
    EXPECT_EQ(call->callbacks, 0);
  }
  EXPECT_EQ(fetcher.counters().cancelled, 4u);
}

TEST_F(FetcherTest, DestroyingTheFetcherAbortsWithoutCallbacks) {
  std::vector<std::shared_ptr<Call>> calls;
  {
    FetchLimits limits = loopback_allowed();
    limits.max_per_client = 10;
    Fetcher fetcher(io, limits);
    calls.push_back(fetch(fetcher, server.url("/hang")));
    calls.push_back(fetch(fetcher, server.url("/big")));
    calls.push_back(fetch(fetcher, server.url_for_host("localhost", "/delay/2000")));
    ASSERT_TRUE(run_until([&] { return server.stats().hangs_open == 1; }, 5s));
  }
  run_for(100ms);
  for (const auto& call : calls) EXPECT_EQ(call->callbacks, 0);
  EXPECT_TRUE(run_until([&] { return server.stats().hangs_closed == 1; }, 5s));
}

TEST_F(FetcherTest, CallbackMayStartTheNextFetch) {
  Fetcher fetcher(io, loopback_allowed());
  std::shared_ptr<Call> second;
  auto first = std::make_shared<Call>();
  first->refused = fetcher.start(server.url("/status/200"), nullptr, [&](FetchOutcome outcome) {
    first->outcome = std::move(outcome);
    ++first->callbacks;
    second = fetch(fetcher, server.url("/title"));
  });
  ASSERT_TRUE(run_until([&] { return second && second->ended(); }));
  EXPECT_EQ(first->result().status, 200);
  EXPECT_EQ(second->result().title, std::string(TestHttpServer::kTitle));
}

TEST_F(FetcherDnsTest, OneThreadWhileFetchesAndLookupsAreInFlight) {
  FetchLimits limits = loopback_allowed();
  limits.max_per_client = 64;
  Fetcher fetcher(io, limits, options());
  std::vector<std::shared_ptr<Call>> calls;
  for (int i = 0; i < 10; ++i) calls.push_back(fetch(fetcher, server.url("/delay/500")));
  for (int i = 0; i < 5; ++i)
    calls.push_back(fetch(fetcher, server.url_for_host("good.test", "/delay/500")));
  for (int i = 0; i < 5; ++i)
    calls.push_back(fetch(fetcher, server.url_for_host("localhost", "/delay/500")));
  std::size_t most_threads = 0;
  std::size_t samples = 0;
  asio::steady_timer sampler(io);
  std::function<void()> sample = [&] {
    most_threads = std::max(most_threads, thread_count());
    ++samples;
    sampler.expires_after(5ms);
    sampler.async_wait([&](std::error_code ec) {
      if (!ec && fetcher.in_flight() > 0) sample();
    });
  };
  sample();
  ASSERT_TRUE(run_until(
      [&] { return std::all_of(calls.begin(), calls.end(), [](auto& c) { return c->ended(); }); }));
  sampler.cancel();
  for (const auto& call : calls) EXPECT_EQ(call->result().status, 200);
  EXPECT_GE(samples, 20u);
  EXPECT_EQ(most_threads, 1u);
}

// ---------------------------------------------------------------- stop

// Nothing else on the Fetcher's io_context: a lookup the deaf DNS server never
// answers and a request the silent web server never answers (the kernel
// accepts the connection; no one reads it) live on an io_context that never
// runs. io.run() returning shows that stop() let go of everything.
class FetcherStopTest : public ::testing::Test {
 protected:
  asio::io_context io{1};
  asio::io_context deaf_io{1};  // never run
  test::TestDnsServer deaf{deaf_io};
  asio::ip::tcp::acceptor silent_web{deaf_io, {asio::ip::make_address("127.0.0.1"), 0}};

  void SetUp() override { deaf.silent("silent.test"); }

  DnsOptions slow_dns() {
    DnsOptions options;
    options.servers = deaf.servers();
    options.query_timeout_ms = 5000;
    return options;
  }
};

TEST_F(FetcherStopTest, StopEndsLookupsAndTransfersAndTheLoopRunsOutOfWork) {
  FetchLimits limits = loopback_allowed();
  limits.timeout_ms = 60000;
  Fetcher fetcher(io, limits, slow_dns());
  int callbacks = 0;
  const auto count = [&](FetchOutcome) { ++callbacks; };
  const auto silent_url =
      "http://127.0.0.1:" + std::to_string(silent_web.local_endpoint().port()) + "/";
  ASSERT_FALSE(fetcher.start(silent_url, nullptr, count));
  ASSERT_FALSE(fetcher.start("http://silent.test/", nullptr, count));
  ASSERT_FALSE(fetcher.start("http://silent.test/", nullptr, count));
  // Until curl waits for the answer on its socket.
  const auto deadline = Clock::now() + 5s;
  while (fetcher.watched_sockets() == 0 && Clock::now() < deadline) io.run_one_for(10ms);
  ASSERT_GE(fetcher.watched_sockets(), 1u);
  EXPECT_EQ(fetcher.resolver().pending(), 2u);
  EXPECT_GE(fetcher.resolver().open_sockets(), 2u);

  fetcher.stop();
  EXPECT_EQ(fetcher.in_flight(), 0u);
  EXPECT_EQ(fetcher.watched_sockets(), 0u);
  EXPECT_EQ(fetcher.resolver().pending(), 0u);
  EXPECT_EQ(fetcher.resolver().open_sockets(), 0u);
  EXPECT_EQ(fetcher.counters().cancelled, 3u);
  io.restart();
  const auto begin = Clock::now();
  io.run_for(3s);
  EXPECT_TRUE(io.stopped()) << "work is left on the loop after stop()";
  EXPECT_LT(Clock::now() - begin, 1s);
  EXPECT_EQ(callbacks, 0);

  // Refused from now on, at once.
  const auto refused = fetcher.start(silent_url, nullptr, count);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->code, ErrorCode::server_busy);
  EXPECT_EQ(fetcher.in_flight(), 0u);
}

}  // namespace
}  // namespace loopchat
