// Who is where, across processes: names unique cluster-wide, member counts
// and presence of the whole cluster, a dead node's members leaving
// everyone's view when its lease runs out, and the epoch that tells clients
// a room's history was lost.
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <memory>
#include <string>

#include "tests/cluster/cluster_nodes.hpp"

namespace loopchat::test {
namespace {

using namespace std::chrono_literals;

// A short lease, so that a node's heartbeat (every quarter of it) and a dead
// node's reaping fit a test.
const std::vector<std::string> kShortLease = {"--redis-node-ttl-ms", "400"};

// The next frame of `type` about `name` in `client`'s stream, skipping others.
asio::awaitable<json> presence_of(ChatClient& client, const std::string& event,
                                  const std::string& name) {
  while (true) {
    json frame = co_await client.wait_for("presence");
    if (frame["event"] == event && frame["name"] == name) co_return frame;
  }
}

bool name_claimed(const RedisProcess& redis, const std::string& name) {
  return redis.command({"HEXISTS", "loopchat:names", name}) == ":1\r\n";
}

TEST(ClusterMembership, MembersAndPresenceAndStatsSpanTheCluster) {
  RedisProcess redis;
  auto a = node(redis, kShortLease), b = node(redis, kShortLease);
  run_async([&]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    ChatClient on_a(ex), on_b(ex);
    co_await on_a.connect(a->port());
    std::string b_name = co_await on_b.connect(b->port());
    json first = co_await on_a.join("p");
    EXPECT_EQ(first["members"], 1);
    json second = co_await on_b.join("p");
    EXPECT_EQ(second["members"], 2) << "the room's members on every node";
    EXPECT_EQ(second["epoch"], first["epoch"]) << "one epoch per room, everywhere";
    co_await presence_of(on_a, "join", b_name);  // from the other node

    // The joiner hears of everyone's joins but its own: a message said after
    // the join presence comes after it on every node.
    on_a.send({{"type", "say"}, {"room", "p"}, {"text", "hello"}});
    for (json frame = co_await on_b.next(); frame["type"] != "message";
         frame = co_await on_b.next())
      EXPECT_NE(frame["type"], "presence") << frame.dump();

    // stats: both nodes' connections and rooms, as of the last heartbeat.
    bool whole_cluster = co_await eventually(
        [&]() -> asio::awaitable<bool> {
          on_a.send({{"type", "stats"}});
          json stats = co_await on_a.wait_for("stats");
          co_return stats["connections"] == 2 && stats["rooms"] == 1;
        },
        5s);
    EXPECT_TRUE(whole_cluster);

    on_b.send({{"type", "leave"}, {"room", "p"}});
    json left = co_await on_b.wait_for("left");
    EXPECT_EQ(left["members"], 1);
    co_await presence_of(on_a, "leave", b_name);
  });
}

TEST(ClusterMembership, NicknamesAreUniqueAcrossNodes) {
  RedisProcess redis;
  auto a = node(redis), b = node(redis);
  run_async([&]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    ChatClient alice(ex), watcher(ex), rival(ex), neighbour(ex);
    co_await alice.connect(a->port());
    co_await neighbour.connect(a->port());
    co_await watcher.connect(b->port());
    co_await rival.connect(b->port());
    co_await alice.join("n");
    co_await watcher.join("n");
    alice.send({{"type", "nick"}, {"name", "alice"}});
    json renamed = co_await presence_of(watcher, "nick", "alice");  // on the other node
    EXPECT_EQ(renamed["old"], alice.name());

    rival.send({{"type", "nick"}, {"name", "alice"}, {"id", "r1"}});
    json taken = co_await rival.expect_error("name_taken");
    EXPECT_EQ(taken["id"], "r1") << "taken on another node";
    neighbour.send({{"type", "nick"}, {"name", "alice"}});
    co_await neighbour.expect_error("name_taken");  // and on its own
    rival.send({{"type", "nick"}, {"name", "guest-99-1"}});
    co_await rival.expect_error("name_taken");  // guests' names are the nodes' to give

    alice.ws().close_socket();
    co_await presence_of(watcher, "leave", "alice");
    bool freed = co_await eventually(
        [&]() -> asio::awaitable<bool> { co_return !name_claimed(redis, "alice"); }, 5s);
    CO_REQUIRE(freed);
    co_await rival.join("n");
    rival.send({{"type", "nick"}, {"name", "alice"}});
    co_await presence_of(watcher, "nick", "alice");  // free again once its holder left
  });
}

TEST(ClusterMembership, ADeadNodesMembersLeaveAndItsClientsFillTheirGapElsewhere) {
  RedisProcess redis;
  auto a = node(redis, kShortLease), b = node(redis, kShortLease);
  run_async(
      [&]() -> asio::awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        ChatClient dora(ex), bob(ex);
        co_await dora.connect(a->port());
        co_await bob.connect(b->port());
        co_await dora.join("d");
        co_await bob.join("d");
        dora.send({{"type", "nick"}, {"name", "dora"}});
        co_await presence_of(bob, "nick", "dora");
        bob.send({{"type", "say"}, {"room", "d"}, {"text", "one"}});
        json seen = co_await dora.wait_for("message");
        std::uint64_t last_seq = seen["seq"];

        a->signal(SIGKILL);
        CO_REQUIRE(a->wait_exit(5s).has_value());
        auto killed = std::chrono::steady_clock::now();
        bob.send({{"type", "say"}, {"room", "d"}, {"text", "two"}});
        bob.send({{"type", "say"}, {"room", "d"}, {"text", "three"}});
        // Within 1.25 leases of the kill (500 ms here), with room for a slow machine.
        co_await presence_of(bob, "leave", "dora");
        EXPECT_LT(std::chrono::steady_clock::now() - killed, 3s);

        // Dora comes back through the other node: her name is free, the room
        // counts her once, and what she missed is there by seq.
        ChatClient back(ex);
        co_await back.connect(b->port());
        json joined = co_await back.join("d");
        EXPECT_EQ(joined["members"], 2)
            << "bob and the new connection; the dead node's member is gone";
        back.send({{"type", "history"}, {"room", "d"}, {"since_seq", last_seq}});
        json gap = co_await back.wait_for("history");
        CO_REQUIRE(gap["messages"].size() == 2u);
        EXPECT_EQ(gap["messages"][0]["text"], "two");
        EXPECT_EQ(gap["messages"][1]["text"], "three");
        back.send({{"type", "nick"}, {"name", "dora"}});
        co_await presence_of(bob, "nick", "dora");
      },
      30s);
}

TEST(ClusterMembership, AFlushGivesTheRoomANewEpochAndNewNodesNewNumbers) {
  RedisProcess redis;
  auto a = node(redis, kShortLease);
  run_async([&]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    ChatClient first(ex);
    std::string a_guest = co_await first.connect(a->port());
    json before = co_await first.join("e");
    std::string epoch = before.value("epoch", "");
    CO_REQUIRE(!epoch.empty());
    first.send({{"type", "say"}, {"room", "e"}, {"text", "kept?"}});
    co_await first.wait_for("message");
    first.send({{"type", "history"}, {"room", "e"}});
    EXPECT_EQ((co_await first.wait_for("history"))["epoch"], epoch);

    redis.command({"FLUSHALL"});
    ChatClient second(ex);
    co_await second.connect(a->port());
    json after = co_await second.join("e");
    EXPECT_NE(after.value("epoch", ""), epoch) << "the history is gone: a new epoch says so";
    EXPECT_FALSE(after.value("epoch", "").empty());
    second.send({{"type", "say"}, {"room", "e"}, {"text", "anew"}});
    json m = co_await second.wait_for("message");
    EXPECT_EQ(m["seq"], 1) << "seqs start over in the new epoch";
    second.send({{"type", "history"}, {"room", "e"}});
    json history = co_await second.wait_for("history");
    EXPECT_EQ(history["epoch"], after["epoch"]);

    // The node counter went with the flush; the node's heartbeat puts it
    // back, so a node started now does not take this one's number.
    bool restored = co_await eventually(
        [&]() -> asio::awaitable<bool> {
          co_return redis.command({"EXISTS", "loopchat:nodes"}) == ":1\r\n";
        },
        5s);
    CO_REQUIRE(restored);
    auto c = node(redis);
    ChatClient on_c(ex);
    std::string c_guest = co_await on_c.connect(c->port());
    std::string a_prefix = a_guest.substr(0, a_guest.rfind('-') + 1);
    EXPECT_NE(c_guest.rfind(a_prefix, 0), 0u) << a_guest << " and " << c_guest;
  });
}

}  // namespace
}  // namespace loopchat::test
