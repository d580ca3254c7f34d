// DnsResolver on one io_context against TestDnsServer: lookups answer, and
// a cancelled or stopped lookup leaves nothing on the loop. The "deaf"
// server lives on an io_context that only a test polls (to count queries)
// and never answers silent.test; the resolver's io_context then has no other
// work, and io.run() returning shows that the resolver let go of everything.
#include "server/fetch/dns_resolver.hpp"

#include <gtest/gtest.h>

#include "tests/fetch/test_dns_server.hpp"

namespace loopchat {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

struct Answer {
  DnsResolver::LookupId id = 0;
  int callbacks = 0;
  std::string error;
  std::vector<asio::ip::address> addresses;
};

class DnsResolverTest : public ::testing::Test {
 protected:
  asio::io_context io{1};
  asio::io_context deaf_io{1};  // never run
  test::TestDnsServer deaf{deaf_io};

  void SetUp() override { deaf.silent("silent.test"); }  // even when deaf_io is polled

  DnsOptions options(const test::TestDnsServer& server, std::uint32_t query_timeout_ms = 5000) {
    DnsOptions options;
    options.servers = server.servers();
    options.query_timeout_ms = query_timeout_ms;
    options.tries = 2;
    return options;
  }

  std::shared_ptr<Answer> resolve(DnsResolver& resolver, const std::string& host) {
    auto answer = std::make_shared<Answer>();
    answer->id =
        resolver.resolve(host, [answer](std::string error, std::vector<asio::ip::address> found) {
          ++answer->callbacks;
          answer->error = std::move(error);
          answer->addresses = std::move(found);
        });
    return answer;
  }

  bool run_until(const std::function<bool()>& done, Clock::duration limit = 5s) {
    const auto deadline = Clock::now() + limit;
    while (!done()) {
      if (Clock::now() >= deadline) return false;
      if (io.run_one_for(deadline - Clock::now()) == 0 && io.stopped()) io.restart();
    }
    return true;
  }

  // How long io.run() takes to run out of work; `limit` if it does not.
  Clock::duration time_to_run_out_of_work(Clock::duration limit = 3s) {
    io.restart();
    const auto begin = Clock::now();
    io.run_for(limit);
    return io.stopped() ? Clock::now() - begin : limit;
  }
};

TEST_F(DnsResolverTest, AnswersFromTheDnsServerThenHoldsNothing) {
  test::TestDnsServer dns(io);
  dns.add("good.test", asio::ip::make_address("127.0.0.1"));
  dns.add("good.test", asio::ip::make_address("::1"));
  DnsResolver resolver(io, options(dns));
  std::vector<std::shared_ptr<Answer>> answers;
  for (int i = 0; i < 10; ++i) answers.push_back(resolve(resolver, "good.test"));
  auto unknown = resolve(resolver, "nx.test");
  ASSERT_TRUE(run_until([&] { return resolver.pending() == 0; }));
  for (const auto& answer : answers) {
    EXPECT_EQ(answer->callbacks, 1);
    EXPECT_EQ(answer->error, "");
    EXPECT_EQ(answer->addresses.size(), 2u);
  }
  EXPECT_EQ(unknown->callbacks, 1);
  EXPECT_NE(unknown->error, "");
  EXPECT_EQ(resolver.open_sockets(), 0u);
  EXPECT_GE(dns.queries(), 22u);  // A and AAAA for each lookup: none from a cache
}

TEST_F(DnsResolverTest, ReadsTheHostsFileFirst) {
  DnsResolver resolver(io, options(deaf));
  auto answer = resolve(resolver, "localhost");
  EXPECT_EQ(answer->callbacks, 0);  // never from inside resolve()
  ASSERT_TRUE(run_until([&] { return answer->callbacks == 1; }));
  EXPECT_EQ(answer->error, "");
  EXPECT_NE(std::find(answer->addresses.begin(), answer->addresses.end(),
                      asio::ip::make_address("127.0.0.1")),
            answer->addresses.end());
  deaf_io.poll();
  EXPECT_EQ(deaf.queries(), 0u);
}

TEST_F(DnsResolverTest, AnUnansweredQueryTimesOut) {
  DnsOptions quick = options(deaf, 100);
  quick.tries = 1;
  DnsResolver resolver(io, quick);
  const auto begin = Clock::now();
  auto answer = resolve(resolver, "silent.test");
  ASSERT_TRUE(run_until([&] { return answer->callbacks == 1; }));
  EXPECT_LT(Clock::now() - begin, 2s);
  EXPECT_NE(answer->error.find("Timeout"), std::string::npos) << answer->error;
  EXPECT_LT(time_to_run_out_of_work(), 1s);
}

TEST_F(DnsResolverTest, CancelEndsTheQueryAndReleasesItsSocketsAndTimer) {
  DnsResolver resolver(io, options(deaf));  // c-ares would wait 5 s, then 10 s
  auto cancelled = resolve(resolver, "silent.test");
  auto kept = resolve(resolver, "silent.test");
  EXPECT_GE(resolver.open_sockets(), 2u);  // a socket per lookup, each watched
  deaf_io.poll();
  EXPECT_GE(deaf.queries(), 2u);  // the queries really went out

  resolver.cancel(cancelled->id);
  EXPECT_EQ(resolver.pending(), 1u);
  EXPECT_GE(resolver.open_sockets(), 1u);  // the other lookup's are untouched
  resolver.cancel(kept->id);
  EXPECT_EQ(resolver.pending(), 0u);
  EXPECT_EQ(resolver.open_sockets(), 0u);
  EXPECT_LT(time_to_run_out_of_work(), 1s);
  EXPECT_EQ(cancelled->callbacks, 0);
  EXPECT_EQ(kept->callbacks, 0);
}

TEST_F(DnsResolverTest, StopEndsEveryLookupAndIoRunReturns) {
  DnsResolver resolver(io, options(deaf));
  std::vector<std::shared_ptr<Answer>> answers;
  for (int i = 0; i < 5; ++i) answers.push_back(resolve(resolver, "silent.test"));
  answers.push_back(resolve(resolver, "localhost"));  // answered, its callback not yet run
  EXPECT_EQ(resolver.pending(), 6u);
  resolver.stop();
  EXPECT_EQ(resolver.pending(), 0u);
  EXPECT_EQ(resolver.open_sockets(), 0u);
  EXPECT_LT(time_to_run_out_of_work(), 1s);
  for (const auto& answer : answers) EXPECT_EQ(answer->callbacks, 0);

  // Afterwards a lookup is answered, with an error, and sends nothing.
  auto late = resolve(resolver, "localhost");
  ASSERT_TRUE(run_until([&] { return late->callbacks == 1; }));
  EXPECT_NE(late->error, "");
  EXPECT_TRUE(late->addresses.empty());
}

TEST_F(DnsResolverTest, ACallbackMayStartAndCancelLookups) {
  test::TestDnsServer dns(io);
  dns.add("good.test", asio::ip::make_address("127.0.0.1"));
  dns.silent("silent.test");
  DnsResolver resolver(io, options(dns));
  std::shared_ptr<Answer> second;
  DnsResolver::LookupId silent = 0;
  resolver.resolve("good.test", [&](std::string, std::vector<asio::ip::address>) {
    silent = resolver.resolve("silent.test", [](auto&&...) { ADD_FAILURE() << "cancelled"; });
    second = resolve(resolver, "good.test");
    resolver.cancel(silent);
  });
  ASSERT_TRUE(run_until([&] { return second && second->callbacks == 1; }));
  EXPECT_EQ(second->error, "");
  EXPECT_EQ(resolver.pending(), 0u);
}

}  // namespace
}  // namespace loopchat
