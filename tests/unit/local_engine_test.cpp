// LocalEngine: a room's seq counts up by one, every message goes to every
// member, and `history` answers the same questions the same way whether the
// messages come from the ring in memory, from the SQLite store, or from both
// after a restart. Each mode runs every test.
#include "server/engine/local_engine.hpp"

#include <gtest/gtest.h>

#include <asio.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "common/codec.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/unit/fake_participant.hpp"

namespace loopchat {
namespace {

using fakes::FakeParticipant;

struct Mode {
  const char* name;
  bool store;        // with a MessageStore
  std::size_t ring;  // --history: messages in memory per room
  bool restart;      // the engine and store are reopened after posting
};
void PrintTo(const Mode& mode, std::ostream* out) {
  *out << mode.name;
}

class LocalEngineTest : public ::testing::TestWithParam<Mode> {
 protected:
  void SetUp() override {
    config.history_size = GetParam().ring;
    config.store.data_dir = dir.path();
    open();
    room.add(member);
  }
  void TearDown() override { room.remove(member); }

  void open() {
    engine.reset();
    store.reset();
    if (GetParam().store) store = std::make_unique<MessageStore>(io, config.store, metrics);
    engine = std::make_unique<LocalEngine>(config, metrics, store.get());
  }

  // Posts `count` messages (texts of `text_bytes`, all of one length); the
  // seqs given, in order. Each is committed as its turn would be.
  std::vector<std::uint64_t> post(int count, std::size_t text_bytes = 10) {
    std::vector<std::uint64_t> seqs;
    for (int i = 0; i < count; ++i) {
      member.clear();
      auto published =
          engine->publish(room, {room.name(), "a", std::string(text_bytes, 'x'), 0, 1, {}});
      EXPECT_FALSE(published.error);
      EXPECT_EQ(published.delivered, 1u);
      auto messages = member.events_of<protocol::Message>();
      EXPECT_EQ(messages.size(), 1u);
      if (!messages.empty()) seqs.push_back(messages[0].seq);
      if (store) store->commit();
    }
    return seqs;
  }
  // Posts 1..count and reopens in the restart mode.
  void post_all(int count, std::size_t text_bytes = 10) {
    post(count, text_bytes);
    if (GetParam().restart) open();
  }

  HistorySlice ask(HistoryQuery query) {
    HistorySlice out;
    bool answered = false;
    engine->read_history(room.name(), query, member, [&](HistorySlice&& slice) {
      out = std::move(slice);
      answered = true;
    });
    EXPECT_TRUE(answered) << "the local engine answers at once";
    return out;
  }
  static std::vector<std::uint64_t> seqs_of(const HistorySlice& slice) {
    std::vector<std::uint64_t> seqs;
    for (std::string_view payload : slice.messages) {
      auto event = protocol::decode_event(payload);
      auto* message = std::get_if<protocol::Message>(&event);
      EXPECT_NE(message, nullptr) << payload;
      if (message) seqs.push_back(message->seq);
    }
    return seqs;
  }
  std::vector<std::uint64_t> ask_seqs(std::size_t limit, std::optional<std::uint64_t> before,
                                      std::optional<std::uint64_t> since) {
    return seqs_of(ask({.limit = limit, .before_seq = before, .since_seq = since}));
  }
  static std::vector<std::uint64_t> range(std::uint64_t first, std::uint64_t last) {
    std::vector<std::uint64_t> out;
    for (std::uint64_t s = first; s <= last; ++s) out.push_back(s);
    return out;
  }
  // The oldest seq still answerable after posting `posted`.
  std::uint64_t oldest_kept(std::uint64_t posted) const {
    if (GetParam().store) return 1;
    return posted > GetParam().ring ? posted - GetParam().ring + 1 : 1;
  }

  test::TempDir dir;
  asio::io_context io;
  Config config;
  Metrics metrics;
  std::unique_ptr<MessageStore> store;
  std::unique_ptr<LocalEngine> engine;
  Room room{"r"};
  FakeParticipant member{"m"};
};

TEST_P(LocalEngineTest, SeqCountsUpByOnePerRoom) {
  EXPECT_EQ(post(3), range(1, 3));
  Room other("s");
  other.add(member);
  auto published = engine->publish(other, {"s", "a", "hi", 0, 1, {}});
  EXPECT_FALSE(published.error);
  EXPECT_EQ(member.events_of<protocol::Message>().back().seq, 1u) << "each room has its own seq";
  other.remove(member);
  if (GetParam().restart) open();
  EXPECT_EQ(post(1), std::vector<std::uint64_t>{4}) << "the seq goes on where it stopped";
}

TEST_P(LocalEngineTest, HistoryReturnsTheNewestOldestFirst) {
  post_all(3);
  EXPECT_EQ(ask_seqs(10, {}, {}), range(1, 3));
  EXPECT_EQ(ask_seqs(2, {}, {}), range(2, 3));
  EXPECT_TRUE(ask_seqs(0, {}, {}).empty());
  post_all(12);  // 15 in all
  EXPECT_EQ(ask_seqs(100, {}, {}), range(oldest_kept(15), 15));
  EXPECT_EQ(ask_seqs(1, {}, {}), std::vector<std::uint64_t>{15});
  EXPECT_FALSE(ask({.limit = 100}).truncated);
}

TEST_P(LocalEngineTest, BeforeSeqPagesBackAndSinceSeqFillsAGap) {
  post_all(15);
  std::uint64_t oldest = oldest_kept(15);
  EXPECT_EQ(ask_seqs(3, 12, {}), range(9, 11)) << "the newest before 12";
  EXPECT_EQ(ask_seqs(100, 9, {}), range(oldest, 8)) << "down to the oldest kept";
  EXPECT_EQ(ask_seqs(100, oldest, {}), std::vector<std::uint64_t>{}) << "nothing before it";
  EXPECT_TRUE(ask_seqs(100, 0, {}).empty());
  EXPECT_EQ(ask_seqs(2, 1000, {}), range(14, 15)) << "before past the newest";
  EXPECT_EQ(ask_seqs(3, {}, 8), range(9, 11)) << "the oldest after 8";
  EXPECT_EQ(ask_seqs(100, {}, 12), range(13, 15));
  EXPECT_EQ(ask_seqs(100, {}, 0), range(oldest, 15)) << "a gap older than what is kept";
  EXPECT_TRUE(ask_seqs(100, {}, 15).empty()) << "nothing after the newest";
  EXPECT_TRUE(ask_seqs(100, {}, 99).empty());
  EXPECT_EQ(ask_seqs(100, 12, 8), range(9, 11)) << "both: the range between";
  EXPECT_EQ(ask_seqs(2, 12, 7), range(8, 9)) << "both: from the oldest end";
  EXPECT_TRUE(ask_seqs(100, 9, 8).empty());
}

TEST_P(LocalEngineTest, HistoryWithinItsBytesKeepsTheNewestOrWithSinceTheOldest) {
  post_all(19, 100);  // seqs 10 to 19 (kept in every mode) have payloads of one length
  std::size_t each = ask({.limit = 1}).messages.at(0).size() + 1;  // a payload and its separator
  HistorySlice slice = ask({.limit = 10, .max_bytes = 3 * each});
  EXPECT_TRUE(slice.truncated);
  EXPECT_EQ(seqs_of(slice), range(17, 19));
  slice = ask({.limit = 10, .max_bytes = 3 * each - 1});
  EXPECT_EQ(seqs_of(slice), range(18, 19)) << "a message that does not fit whole is left out";
  EXPECT_TRUE(slice.truncated);
  slice = ask({.limit = 3, .max_bytes = 3 * each});
  EXPECT_FALSE(slice.truncated) << "the limit, not the bytes, ended it";
  EXPECT_EQ(seqs_of(slice).size(), 3u);
  slice = ask({.limit = 10, .max_bytes = 0});
  EXPECT_TRUE(slice.messages.empty());
  EXPECT_TRUE(slice.truncated);
  slice = ask({.limit = 10, .since_seq = 11, .max_bytes = 3 * each});
  EXPECT_TRUE(slice.truncated);
  EXPECT_EQ(seqs_of(slice), range(12, 14));
  slice = ask({.limit = 10, .before_seq = 18, .max_bytes = 2 * each});
  EXPECT_TRUE(slice.truncated);
  EXPECT_EQ(seqs_of(slice), range(16, 17));
}

TEST_P(LocalEngineTest, HistoryBytesCountTheFramesInMemory) {
  EXPECT_EQ(engine->history_bytes(), 0u);
  post(3);
  std::size_t three = engine->history_bytes();
  EXPECT_EQ(three > 0, GetParam().ring > 0);
  engine->close_room(room.name());
  EXPECT_EQ(engine->history_bytes(), 0u) << "a closed room's ring is released";
  // With a store the seq and history survive the room leaving memory.
  std::vector<std::uint64_t> next = post(1);
  EXPECT_EQ(next, std::vector<std::uint64_t>{GetParam().store ? 4u : 1u});
}

TEST_P(LocalEngineTest, TheMemoryBudgetTrimsTheRingNotTheStore) {
  post(10, 100);
  config.max_history_bytes = engine->history_bytes() / 2;
  post(1, 100);  // trims down to the budget
  EXPECT_LE(engine->history_bytes(), config.max_history_bytes);
  if (GetParam().ring > 0) {
    EXPECT_GT(metrics.limit_hits[static_cast<int>(Limit::history_bytes)], 0u);
  }
  std::vector<std::uint64_t> all = ask_seqs(100, {}, {});
  if (GetParam().store) {
    EXPECT_EQ(all, range(1, 11)) << "what memory dropped is read from disk";
  } else {
    EXPECT_LT(all.size(), 11u);
  }
}

INSTANTIATE_TEST_SUITE_P(Modes, LocalEngineTest,
                         ::testing::Values(Mode{"memory", false, 10, false},
                                           Mode{"store", true, 10, false},
                                           Mode{"store_no_ring", true, 0, false},
                                           Mode{"store_small_ring", true, 4, false},
                                           Mode{"store_restarted", true, 10, true}),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace loopchat
