// Chat over real sockets: messages, presence, ordering, history, nicknames.
#include <gtest/gtest.h>

#include "tests/support/chat_client.hpp"
#include "tests/support/server_process.hpp"

namespace loopchat::test {
namespace {

TEST(Chat, TwoClientsChatBothWays) {
  ServerProcess server;
  run_async([&]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    ChatClient alice(ex), bob(ex);
    std::string alice_name = co_await alice.connect(server.port());
    std::string bob_name = co_await bob.connect(server.port());
    EXPECT_NE(alice_name, bob_name);
    json joined = co_await alice.join("lobby");
    EXPECT_EQ(joined["members"], 1);
    joined = co_await bob.join("lobby");
    EXPECT_EQ(joined["members"], 2);
    co_await alice.expect("presence");

    alice.send({{"type", "say"}, {"room", "lobby"}, {"text", "hi bob"}, {"id", 7}});
    for (ChatClient* c : {&alice, &bob}) {
      json m = co_await c->expect("message");
      EXPECT_EQ(m["room"], "lobby");
      EXPECT_EQ(m["from"], alice_name);
      EXPECT_EQ(m["text"], "hi bob");
      EXPECT_EQ(m["seq"], 1);
      EXPECT_EQ(m["id"], 7);  // every member gets the id of the say: one frame for the room
      EXPECT_GT(m["ts"].get<std::int64_t>(), 1'600'000'000'000);
    }
    bob.send({{"type", "say"}, {"room", "lobby"}, {"text", "hi alice ✓"}});
    for (ChatClient* c : {&alice, &bob}) {
      json m = co_await c->expect("message");
      EXPECT_EQ(m["from"], bob_name);
      EXPECT_EQ(m["text"], "hi alice ✓");
      EXPECT_EQ(m["seq"], 2);
      EXPECT_FALSE(m.contains("id"));
    }
  });
}

TEST(Chat, PresenceOnJoinLeaveNickAndDisconnect) {
  ServerProcess server;
  run_async([&]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    ChatClient alice(ex);
    auto bob = std::make_unique<ChatClient>(ex);
    co_await alice.connect(server.port());
    std::string bob_name = co_await bob->connect(server.port());
    co_await alice.join("room.1");
    co_await bob->join("room.1");

    json p = co_await alice.expect("presence");
    EXPECT_EQ(p["event"], "join");
    EXPECT_EQ(p["name"], bob_name);
    EXPECT_EQ(p["room"], "room.1");

    bob->send({{"type", "nick"}, {"name", "bobby"}});
    p = co_await alice.expect("presence");
    EXPECT_EQ(p["event"], "nick");
    EXPECT_EQ(p["name"], "bobby");

    bob->send({{"type", "leave"}, {"room", "room.1"}, {"id", "l1"}});
    json left = co_await bob->expect("left");
    EXPECT_EQ(left["id"], "l1");
    EXPECT_EQ(left["members"], 1);
    p = co_await alice.expect("presence");
    EXPECT_EQ(p["event"], "leave");
    EXPECT_EQ(p["name"], "bobby");

    co_await bob->join("room.1");
    co_await alice.expect("presence");
    bob->ws().abort();  // gone without a close frame
    p = co_await alice.expect("presence");
    EXPECT_EQ(p["event"], "leave");
    EXPECT_EQ(p["name"], "bobby");

    // The joiner itself gets no presence: its next frame answers its next request.
    ChatClient carol(ex);
    co_await carol.connect(server.port());
    co_await carol.join("room.1");
    carol.send({{"type", "ping"}, {"id", 1}});
    co_await carol.expect("pong");
  });
}

TEST(Chat, SeqOrderAcrossThreeSenders) {
  ServerProcess server({"--rate", "100000", "--burst", "1000"});
  constexpr int kPerSender = 200;
  run_async([&]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    std::vector<std::unique_ptr<ChatClient>> senders;
    ChatClient reader(ex);
    co_await reader.connect(server.port());
    co_await reader.join("seq");
    for (int i = 0; i < 3; ++i) {
      senders.push_back(std::make_unique<ChatClient>(ex));
      co_await senders.back()->connect(server.port());
      co_await senders.back()->join("seq");
      co_await reader.expect("presence");
    }
    for (int n = 0; n < kPerSender; ++n)
      for (int i = 0; i < 3; ++i)
        senders[i]->send({{"type", "say"},
                          {"room", "seq"},
                          {"text", std::to_string(i) + ":" + std::to_string(n)}});
    std::uint64_t expected_seq = 1;
    std::map<std::string, int> next_from;
    for (int k = 0; k < 3 * kPerSender; ++k) {
      json m = co_await reader.expect("message");
      EXPECT_EQ(m["seq"].get<std::uint64_t>(), expected_seq++);
      // Each sender's messages arrive in the order it sent them.
      std::string text = m["text"];
      std::string from = m["from"];
      int n = std::stoi(text.substr(text.find(':') + 1));
      EXPECT_EQ(n, next_from[from]++);
    }
  });
}

// The ring in memory; with a store, history reaches further back (persistence_test).
TEST(Chat, HistoryKeepsTheMostRecentMessages) {
  ServerProcess server({"--history", "5", "--memory-only"});
  run_async([&]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    ChatClient alice(ex), late(ex);
    co_await alice.connect(server.port());
    co_await alice.join("h");
    for (int i = 1; i <= 8; ++i) {
      alice.send(
          {{"type", "say"}, {"room", "h"}, {"text", std::string("m").append(std::to_string(i))}});
      co_await alice.expect("message");
    }
    co_await late.connect(server.port());
    late.send({{"type", "history"}, {"room", "h"}, {"id", "h1"}});
    json h = co_await late.expect("history");
    EXPECT_EQ(h["room"], "h");
    EXPECT_EQ(h["id"], "h1");
    CO_REQUIRE(h["messages"].size() == 5u);  // the ring keeps 5
    for (int i = 0; i < 5; ++i) {
      EXPECT_EQ(h["messages"][i]["text"].get<std::string>(),
                std::string("m").append(std::to_string(i + 4)));
      EXPECT_EQ(h["messages"][i]["seq"], i + 4);
      EXPECT_EQ(h["messages"][i]["type"], "message");
    }
    late.send({{"type", "history"}, {"room", "h"}, {"limit", 2}});
    h = co_await late.expect("history");
    CO_REQUIRE(h["messages"].size() == 2u);
    EXPECT_EQ(h["messages"][0]["text"], "m7");
    EXPECT_EQ(h["messages"][1]["text"], "m8");
    late.send({{"type", "history"}, {"room", "never-used"}});
    h = co_await late.expect("history");
    EXPECT_TRUE(h["messages"].empty());
  });
}

TEST(Chat, NicknamesAreUnique) {
  ServerProcess server;
  run_async([&]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    ChatClient a(ex), b(ex);
    co_await a.connect(server.port());
    co_await b.connect(server.port());
    a.send({{"type", "nick"}, {"name", "zoë"}});
    a.send({{"type", "ping"}});
    co_await a.expect("pong");  // nick has no answer on success
    b.send({{"type", "nick"}, {"name", "zoë"}, {"id", 3}});
    json e = co_await b.expect_error("name_taken");
    EXPECT_EQ(e["id"], 3);
    // A guest name is taken too.
    ChatClient c(ex);
    co_await c.connect(server.port());
    b.send({{"type", "nick"}, {"name", c.name()}});
    co_await b.expect_error("name_taken");
    // A released name can be taken.
    a.send({{"type", "nick"}, {"name", "zed"}});
    a.send({{"type", "ping"}});
    co_await a.expect("pong");
    b.send({{"type", "nick"}, {"name", "zoë"}});
    b.send({{"type", "ping"}});
    co_await b.expect("pong");
  });
}

}  // namespace
}  // namespace loopchat::test
