// Rooms across processes: loopchat servers given one --redis URL share a
// room's order, history and fan-out; Redis unreachable at start is a
// one-line exit, and lost at run time `say` answers server_busy until the
// server has reconnected by itself.
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tests/cluster/cluster_nodes.hpp"

namespace loopchat::test {
namespace {

using namespace std::chrono_literals;

TEST(Cluster, ThreeNodesSeeOneOrderUnderConcurrentSenders) {
  RedisProcess redis;
  std::vector<std::unique_ptr<ServerProcess>> nodes;
  for (int i = 0; i < 3; ++i) nodes.push_back(node(redis));
  constexpr int kPerNode = 2, kEach = 150;
  std::vector<std::vector<std::pair<std::uint64_t, std::string>>> seen(3 * kPerNode);
  run_async(
      [&]() -> asio::awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        std::vector<std::unique_ptr<ChatClient>> clients;
        for (int n = 0; n < 3; ++n)
          for (int k = 0; k < kPerNode; ++k) {
            clients.push_back(std::make_unique<ChatClient>(ex));
            co_await clients.back()->connect(nodes[n]->port());
            co_await clients.back()->join("r");  // `joined`: the node has the room's messages
          }
        for (int i = 0; i < kEach; ++i)
          for (std::size_t c = 0; c < clients.size(); ++c)
            clients[c]->send({{"type", "say"},
                              {"room", "r"},
                              {"text", "c" + std::to_string(c) + "-" + std::to_string(i)}});
        for (std::size_t c = 0; c < clients.size(); ++c)
          while (seen[c].size() < clients.size() * kEach) {
            json m = co_await clients[c]->next();
            if (m["type"] == "message")
              seen[c].emplace_back(m["seq"].get<std::uint64_t>(), m["text"].get<std::string>());
          }
      },
      60s);
  for (std::size_t c = 0; c < seen.size(); ++c) {
    ASSERT_EQ(seen[c].size(), seen[0].size());
    EXPECT_EQ(seen[c], seen[0]) << "client " << c << " saw another order";
    for (std::size_t i = 0; i < seen[c].size(); ++i)
      ASSERT_EQ(seen[c][i].first, i + 1) << "seq rises by one across every node";
  }
}

TEST(Cluster, HistoryComesFromTheSharedLogOnAnyNode) {
  RedisProcess redis;
  auto a = node(redis), b = node(redis);
  run_async([&]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    ChatClient writer(ex), reader(ex);
    co_await writer.connect(a->port());
    co_await writer.join("h");
    for (int i = 1; i <= 30; ++i) {
      writer.send({{"type", "say"}, {"room", "h"}, {"text", "m" + std::to_string(i)}});
      co_await writer.wait_for("message");
    }
    co_await reader.connect(b->port());  // never joined: history of any room
    reader.send({{"type", "history"}, {"room", "h"}, {"limit", 5}});
    json newest = co_await reader.expect("history");
    CO_REQUIRE(newest["messages"].size() == 5u);
    EXPECT_EQ(newest["messages"][0]["seq"], 26);
    EXPECT_EQ(newest["messages"][4]["text"], "m30");
    reader.send({{"type", "history"}, {"room", "h"}, {"limit", 3}, {"before_seq", 26}});
    json older = co_await reader.expect("history");
    CO_REQUIRE(older["messages"].size() == 3u);
    EXPECT_EQ(older["messages"][0]["seq"], 23);
    EXPECT_EQ(older["messages"][2]["seq"], 25);
    reader.send({{"type", "history"}, {"room", "h"}, {"limit", 100}, {"since_seq", 27}});
    json gap = co_await reader.expect("history");
    CO_REQUIRE(gap["messages"].size() == 3u);
    EXPECT_EQ(gap["messages"][0]["seq"], 28);
    EXPECT_EQ(gap["messages"][2]["text"], "m30");
  });
}

TEST(Cluster, ProcessesShareOnePortWithReusePortAndChatAcrossIt) {
  RedisProcess redis;
  auto first = std::make_unique<ServerProcess>(
      std::vector<std::string>{"--redis", redis.url(), "--quiet", "--reuse-port"});
  std::string port = std::to_string(first->port());
  ServerProcess second({"--redis", redis.url(), "--quiet", "--reuse-port", "--port", port});
  CommandResult refused = run_command(
      {LOOPCHAT_SERVER_BIN, "--bind", "127.0.0.1", "--port", port, "--memory-only", "--quiet"});
  EXPECT_EQ(refused.exit_code, 1) << "without --reuse-port the port is taken";
  // Connections to the one port reach both processes; whichever each
  // lands on, they are in one room.
  run_async([&]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    std::vector<std::unique_ptr<ChatClient>> clients;
    for (int i = 0; i < 16; ++i) {
      clients.push_back(std::make_unique<ChatClient>(ex));
      co_await clients.back()->connect(first->port());
      co_await clients.back()->join("shared");
    }
    std::string subscribers = redis.command({"PUBSUB", "NUMSUB", "loopchat:{shared}"});
    for (int i = 0; i < 500 && subscribers.find(":2\r\n") == std::string::npos; ++i)
      subscribers = redis.command({"PUBSUB", "NUMSUB", "loopchat:{shared}"});
    CO_REQUIRE(subscribers.find(":2\r\n") != std::string::npos);  // both processes have members
    clients[0]->send({{"type", "say"}, {"room", "shared"}, {"text", "to all 16"}});
    for (auto& c : clients) {
      json m = co_await c->wait_for("message");
      EXPECT_EQ(m["text"], "to all 16");
    }
  });
}

// The last member leaves and another joins at once, again and again: the
// node's subscription must end up active, whatever the order of Redis's
// confirmations.
TEST(Cluster, LeavingAndJoiningAtOnceKeepsTheNodeSubscribed) {
  RedisProcess redis;
  auto a = node(redis), b = node(redis);
  run_async([&]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    ChatClient writer(ex), flip(ex);
    co_await writer.connect(b->port());
    co_await writer.join("churn");
    co_await flip.connect(a->port());
    // Join and leave in one batch, no wait between (17 requests: within the
    // presence burst of 20).
    for (int i = 0; i < 8; ++i) {
      flip.send({{"type", "join"}, {"room", "churn"}});
      flip.send({{"type", "leave"}, {"room", "churn"}});
    }
    flip.send({{"type", "join"}, {"room", "churn"}});
    for (int joined = 0; joined < 9;) joined += (co_await flip.next())["type"] == "joined";
    wait_subscribed(redis, "churn", 2);
    writer.send({{"type", "say"}, {"room", "churn"}, {"text", "still there?"}});
    json m = co_await flip.wait_for("message");
    EXPECT_EQ(m["text"], "still there?");
  });
}

TEST(Cluster, GuestNamesOfDifferentNodesNeverCollide) {
  RedisProcess redis;
  auto a = node(redis), b = node(redis);
  run_async([&]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    ChatClient on_a(ex), on_b(ex), again_a(ex);
    std::string first = co_await on_a.connect(a->port());
    std::string second = co_await on_b.connect(b->port());
    std::string third = co_await again_a.connect(a->port());
    EXPECT_NE(first, second) << "each node counts its guests from 1";
    EXPECT_NE(first, third);
    EXPECT_EQ(first.rfind("guest-", 0), 0u) << first;
  });
}

TEST(Cluster, RedisUnreachableAtStartIsAOneLineExit) {
  std::uint16_t closed_port;
  {
    RedisProcess gone;  // a port where nothing listens once it is killed
    closed_port = gone.port();
  }
  CommandResult result =
      run_command({LOOPCHAT_SERVER_BIN, "--bind", "127.0.0.1", "--port", "0", "--quiet", "--redis",
                   "redis://127.0.0.1:" + std::to_string(closed_port)});
  EXPECT_EQ(result.exit_code, 1) << result.err;
  EXPECT_NE(result.err.find("cannot use Redis at redis://127.0.0.1:" + std::to_string(closed_port)),
            std::string::npos)
      << result.err;
  EXPECT_EQ(result.err.find('\n'), result.err.size() - 1) << "one line:\n" << result.err;
  CommandResult bad = run_command({LOOPCHAT_SERVER_BIN, "--redis", "redis://localhost:6379"});
  EXPECT_EQ(bad.exit_code, 2) << "a name, not an address: refused at parse";
  EXPECT_NE(bad.err.find("must be an IP address"), std::string::npos) << bad.err;
}

TEST(Cluster, RedisLostAtRunTimeAnswersServerBusyThenHealsByItself) {
  auto redis = std::make_unique<RedisProcess>();
  std::uint16_t redis_port = redis->port();
  auto a = node(*redis);
  run_async(
      [&]() -> asio::awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        ChatClient alice(ex);
        co_await alice.connect(a->port());
        json joined = co_await alice.join("r");
        CO_REQUIRE(!joined.value("epoch", "").empty());
        alice.send({{"type", "say"}, {"room", "r"}, {"text", "before"}});
        co_await alice.wait_for("message");

        redis->kill();
        // The server keeps the connection and answers clearly.
        bool busy = false;
        for (int i = 0; i < 200 && !busy; ++i) {
          alice.send({{"type", "say"}, {"room", "r"}, {"text", "while down"}, {"id", i}});
          json answer = co_await alice.next();
          busy = answer["type"] == "error" && answer["code"] == "server_busy";
        }
        CO_REQUIRE(busy);

        redis = std::make_unique<RedisProcess>(redis_port);
        wait_subscribed(*redis, "r", 1);  // reconnected and subscribed again, by itself
        json echo;
        for (int i = 0; i < 200; ++i) {
          alice.send({{"type", "say"}, {"room", "r"}, {"text", "after"}});
          json answer = co_await alice.next();
          while (answer["type"] == "presence") answer = co_await alice.next();
          if (answer["type"] == "message") {
            echo = answer;
            break;
          }
        }
        CO_REQUIRE(echo.is_object());
        EXPECT_EQ(echo["text"], "after");
        EXPECT_EQ(echo["seq"], 1) << "this Redis kept nothing: the room's log starts over";
        alice.send({{"type", "history"}, {"room", "r"}});
        json history = co_await alice.wait_for("history");
        EXPECT_NE(history.value("epoch", ""), joined["epoch"])
            << "a new epoch tells clients that seqs before it mean nothing now";
      },
      60s);
}

// A Redis that stops answering (DEBUG SLEEP) costs the loop nothing: the
// command's deadline drops the connection, `say` answers server_busy, and
// the server reconnects once Redis answers again.
TEST(Cluster, ASlowRedisIsBoundedByTheCommandDeadline) {
  RedisProcess redis;
  ServerProcess a({"--redis", redis.url(), "--quiet", "--redis-timeout-ms", "200", "--rate",
                   "100000", "--burst", "100000"});
  run_async(
      [&]() -> asio::awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        ChatClient alice(ex);
        co_await alice.connect(a.port());
        co_await alice.join("slow");
        pid_t sleeper = ::fork();
        if (sleeper == 0) {  // a client that makes Redis sleep for 1.5 s
          redis.command({"DEBUG", "SLEEP", "1.5"});
          ::_exit(0);
        }
        // While Redis sleeps: the say's EVAL misses its 200 ms deadline; the
        // server, not stalled, answers the pings and then refuses says.
        auto started = std::chrono::steady_clock::now();
        bool busy = false;
        while (!busy && std::chrono::steady_clock::now() - started < 1400ms) {
          alice.send({{"type", "say"}, {"room", "slow"}, {"text", "during"}});
          alice.send({{"type", "ping"}});
          json answer = co_await alice.next();
          while (answer["type"] == "message") answer = co_await alice.next();
          if (answer["type"] == "error") {
            busy = answer["code"] == "server_busy";
          } else {
            CO_REQUIRE(answer["type"] == "pong");
          }
        }
        CO_REQUIRE(busy);
        EXPECT_LT(std::chrono::steady_clock::now() - started, 1500ms)
            << "refused before Redis woke up: bounded by the deadline";
        ::waitpid(sleeper, nullptr, 0);
        // Reconnecting takes a backoff and a new subscription: say until the
        // echo comes (each say is refused or echoed), for at most 10 s.
        bool back = false;
        auto woke = std::chrono::steady_clock::now();
        while (!back && std::chrono::steady_clock::now() - woke < 10s) {
          alice.send({{"type", "say"}, {"room", "slow"}, {"text", "after"}});
          alice.send({{"type", "ping"}});
          for (json answer = co_await alice.next(); answer["type"] != "pong";
               answer = co_await alice.next())
            back = back || (answer["type"] == "message" && answer["text"] == "after");
        }
        EXPECT_TRUE(back) << "reconnected after Redis answered again";
      },
      60s);
}

}  // namespace
}  // namespace loopchat::test
