// What requests cost, seen from a client: a history answer bounded in bytes
// (truncated, paged with before_seq and since_seq) that never closes its
// asker, and big rooms that fill without a presence storm.
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <vector>

#include "tests/support/chat_client.hpp"
#include "tests/support/server_process.hpp"

namespace loopchat::test {
namespace {

constexpr int kBigMessages = 100;
constexpr std::size_t kBigText = 16000;

// 100 messages of 16,000 characters in room "big" (1.6 MB, beyond the
// 1 MiB queue of a client asking for all of them), said in batches so that
// the writer keeps up with its own copies.
asio::awaitable<void> fill_big_room(ChatClient& writer) {
  co_await writer.join("big");
  for (int sent = 0; sent < kBigMessages; sent += 10) {
    for (int i = 0; i < 10; ++i)
      writer.send({{"type", "say"}, {"room", "big"}, {"text", std::string(kBigText, 'a' + i)}});
    for (int i = 0; i < 10; ++i) co_await writer.expect("message");
  }
}

std::vector<std::uint64_t> seqs_of(const json& history) {
  std::vector<std::uint64_t> out;
  for (const json& m : history["messages"]) out.push_back(m["seq"].get<std::uint64_t>());
  return out;
}

bool contiguous(const std::vector<std::uint64_t>& seqs) {
  for (std::size_t i = 1; i < seqs.size(); ++i)
    if (seqs[i] != seqs[i - 1] + 1) return false;
  return true;
}

// Runs `body` with a fresh reader once a writer has filled room "big", on a
// server whose --rate lets the writer go fast (everything else at its default).
void with_big_room(
    const std::function<asio::awaitable<void>(ServerProcess& server, ChatClient& reader)>& body) {
  ServerProcess server({"--rate", "1000", "--burst", "1000"});
  run_async([&]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    ChatClient writer(ex), reader(ex);
    co_await writer.connect(server.port());
    co_await fill_big_room(writer);
    co_await reader.connect(server.port());
    co_await body(server, reader);
  });
}

TEST(Costs, AHistoryLargerThanTheQueueIsTruncatedAndItsAskerStaysOpen) {
  with_big_room([](ServerProcess& server, ChatClient& reader) -> asio::awaitable<void> {
    // What the page asks on every join.
    reader.send({{"type", "history"}, {"room", "big"}, {"limit", 100}, {"id", "h"}});
    json h = co_await reader.expect("history");
    EXPECT_EQ(h["id"], "h");
    EXPECT_EQ(h.value("truncated", false), true);
    std::vector<std::uint64_t> seqs = seqs_of(h);
    CO_REQUIRE(!seqs.empty());
    EXPECT_LT(seqs.size(), std::size_t(kBigMessages));
    EXPECT_EQ(seqs.back(), std::uint64_t(kBigMessages)) << "the newest are kept";
    EXPECT_TRUE(contiguous(seqs));
    EXPECT_LE(h.dump().size(), 256u * 1024) << "--history-answer-max-bytes";
    reader.send({{"type", "ping"}, {"id", 1}});
    json pong = co_await reader.expect("pong");
    EXPECT_EQ(pong["id"], 1);
    std::string metrics = http_get(server.port(), "/metrics").body;
    EXPECT_EQ(metrics.find("loopchat_closes_total{code=\"1008\"}"), std::string::npos)
        << "nobody was closed 1008";
    EXPECT_NE(metrics.find("loopchat_limit_hits_total{limit=\"history_answer_bytes\"} 1\n"),
              std::string::npos);
  });
}

// Needs the codec's decoding of before_seq (the codec change of this issue).
TEST(Costs, ATruncatedHistoryIsPagedBackWithBeforeSeq) {
  with_big_room([](ServerProcess&, ChatClient& reader) -> asio::awaitable<void> {
    std::vector<std::uint64_t> all;
    json request = {{"type", "history"}, {"room", "big"}, {"limit", 100}};
    for (int page = 0; page < kBigMessages; ++page) {
      reader.send(request);
      json h = co_await reader.expect("history");
      std::vector<std::uint64_t> seqs = seqs_of(h);
      CO_REQUIRE(!seqs.empty());
      CO_REQUIRE(contiguous(seqs));
      CO_REQUIRE(all.empty() || seqs.back() + 1 == all.front());  // the page just before
      all.insert(all.begin(), seqs.begin(), seqs.end());
      EXPECT_EQ(h.value("truncated", false), seqs.front() > 1);
      if (seqs.front() == 1) break;
      request["before_seq"] = seqs.front();
    }
    EXPECT_EQ(all.size(), std::size_t(kBigMessages));
    EXPECT_TRUE(contiguous(all));
  });
}

// Needs the codec's decoding of since_seq (the codec change of this issue).
TEST(Costs, AGapIsFilledOldestFirstWithSinceSeq) {
  with_big_room([](ServerProcess&, ChatClient& reader) -> asio::awaitable<void> {
    // A client that saw up to seq 40 before it lost its connection.
    std::uint64_t seen = 40;
    for (int page = 0; page < kBigMessages && seen < kBigMessages; ++page) {
      reader.send({{"type", "history"}, {"room", "big"}, {"limit", 100}, {"since_seq", seen}});
      json h = co_await reader.expect("history");
      std::vector<std::uint64_t> seqs = seqs_of(h);
      CO_REQUIRE(!seqs.empty());
      CO_REQUIRE(seqs.front() == seen + 1);  // the oldest missing first
      CO_REQUIRE(contiguous(seqs));
      EXPECT_EQ(h.value("truncated", false), seqs.back() < std::uint64_t(kBigMessages));
      seen = seqs.back();
    }
    EXPECT_EQ(seen, std::uint64_t(kBigMessages));
  });
}

TEST(Costs, ARoomFillsWithoutAPresenceStormBeyondAHundredMembers) {
  constexpr int kMembers = 150, kAnnounced = 100;  // --presence-max-members default
  ServerProcess server({"--quiet"});
  run_async([&]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    std::vector<std::unique_ptr<ChatClient>> members;
    for (int i = 0; i < kMembers; ++i) {
      members.push_back(std::make_unique<ChatClient>(ex));
      co_await members.back()->connect(server.port());
      co_await members.back()->join("big");
    }
    members.front()->send({{"type", "say"}, {"room", "big"}, {"text", "all here"}});
    int presence = 0;
    for (auto& m : members) {
      for (;;) {
        json frame = co_await m->next();
        if (frame["type"] == "message") break;
        if (frame["type"] == "presence") ++presence;
      }
    }
    // The k-th joiner (k = 0, 1, ...) was announced to the k members before
    // it while k <= 100: 5,050 frames, not 150 * 149 / 2 = 11,175.
    EXPECT_EQ(presence, kAnnounced * (kAnnounced + 1) / 2);
  });
}

}  // namespace
}  // namespace loopchat::test
