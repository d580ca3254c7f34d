// Room: membership slots stay consistent, broadcasts share one frame, the
// sequence counts up and the history returns the most recent payloads.
#include "server/chat/room.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tests/unit/fake_participant.hpp"

namespace loopchat {
namespace {

using fakes::FakeParticipant;

class RoomTest : public ::testing::Test {
 protected:
  // Broadcasts one probe frame, checks that every participant's recorded slot
  // is its position in the delivery order (the room's member order), and
  // returns the sorted labels of the members reached.
  std::vector<std::string> members_in_order(const Room& room) {
    log.clear();
    room.broadcast(Frame::text(R"({"type":"probe"})"));
    std::vector<std::string> order = log;
    for (FakeParticipant* p : all) {
      auto position = std::find(order.begin(), order.end(), p->label());
      std::size_t memberships = 0;
      for (const Participant::Membership& m : p->memberships)
        if (m.room == &room) {
          ++memberships;
          EXPECT_NE(position, order.end()) << p->label() << " has a membership but got no frame";
          if (position != order.end()) {
            EXPECT_EQ(m.slot, std::size_t(position - order.begin()))
                << p->label() << " has a stale slot";
          }
        }
      EXPECT_EQ(memberships, position == order.end() ? 0u : 1u) << p->label();
      EXPECT_EQ(p->in_room(room.name()), position != order.end()) << p->label();
    }
    EXPECT_EQ(order.size(), room.size());
    std::sort(order.begin(), order.end());
    return order;
  }

  std::vector<std::string> log;
  FakeParticipant a{"a", &log}, b{"b", &log}, c{"c", &log}, d{"d", &log};
  std::vector<FakeParticipant*> all{&a, &b, &c, &d};
};

using Labels = std::vector<std::string>;

TEST_F(RoomTest, NewRoomIsEmpty) {
  Room room("lobby", 10);
  EXPECT_EQ(room.name(), "lobby");
  EXPECT_TRUE(room.empty());
  EXPECT_EQ(room.size(), 0u);
  EXPECT_EQ(members_in_order(room), Labels{});
  EXPECT_TRUE(room.history({.limit = 10}).messages.empty());
}

TEST_F(RoomTest, AddKeepsSlots) {
  Room room("r", 10);
  room.add(a);
  room.add(b);
  room.add(c);
  EXPECT_EQ(room.size(), 3u);
  EXPECT_FALSE(room.empty());
  EXPECT_EQ(members_in_order(room), (Labels{"a", "b", "c"}));
}

TEST_F(RoomTest, RemoveFromTheMiddle) {
  Room room("r", 10);
  for (FakeParticipant* p : all) room.add(*p);
  room.remove(b);
  EXPECT_EQ(room.size(), 3u);
  EXPECT_EQ(members_in_order(room), (Labels{"a", "c", "d"}));
  room.remove(a);  // the first slot
  EXPECT_EQ(members_in_order(room), (Labels{"c", "d"}));
}

TEST_F(RoomTest, RemoveFromTheEnd) {
  Room room("r", 10);
  room.add(a);
  room.add(b);
  room.add(c);
  room.remove(c);
  EXPECT_EQ(room.size(), 2u);
  EXPECT_EQ(members_in_order(room), (Labels{"a", "b"}));
  room.remove(b);
  EXPECT_EQ(members_in_order(room), (Labels{"a"}));
}

TEST_F(RoomTest, RemoveTheOnlyMember) {
  Room room("r", 10);
  room.add(a);
  room.remove(a);
  EXPECT_TRUE(room.empty());
  EXPECT_TRUE(a.memberships.empty());
  EXPECT_EQ(members_in_order(room), Labels{});
}

TEST_F(RoomTest, RemoveANonMemberChangesNothing) {
  Room room("r", 10);
  room.add(a);
  room.add(b);
  room.remove(c);
  EXPECT_EQ(room.size(), 2u);
  EXPECT_EQ(members_in_order(room), (Labels{"a", "b"}));
}

TEST_F(RoomTest, ReAddAfterRemove) {
  Room room("r", 10);
  room.add(a);
  room.add(b);
  room.add(c);
  room.remove(a);
  room.add(a);
  EXPECT_EQ(room.size(), 3u);
  EXPECT_EQ(members_in_order(room), (Labels{"a", "b", "c"}));
  room.remove(c);
  room.remove(b);
  room.remove(a);
  EXPECT_TRUE(room.empty());
  room.add(d);
  room.add(b);
  EXPECT_EQ(members_in_order(room), (Labels{"b", "d"}));
}

TEST_F(RoomTest, ManyRemovalsInEveryOrderKeepSlotsConsistent) {
  // Every order of removing all four members, checked after each removal.
  std::vector<int> order{0, 1, 2, 3};
  do {
    Room room("r", 1);
    for (FakeParticipant* p : all) room.add(*p);
    Labels expected{"a", "b", "c", "d"};
    for (int index : order) {
      room.remove(*all[index]);
      expected.erase(std::find(expected.begin(), expected.end(), all[index]->label()));
      ASSERT_EQ(members_in_order(room), expected);
    }
  } while (std::next_permutation(order.begin(), order.end()));
}

TEST_F(RoomTest, MembershipsInSeveralRoomsAreIndependent) {
  Room first("one", 10), second("two", 10);
  first.add(a);
  first.add(b);
  second.add(b);
  second.add(a);
  second.add(c);
  first.remove(a);
  EXPECT_EQ(members_in_order(first), (Labels{"b"}));
  EXPECT_EQ(members_in_order(second), (Labels{"a", "b", "c"}));
  second.remove(b);
  EXPECT_EQ(members_in_order(first), (Labels{"b"}));
  EXPECT_EQ(members_in_order(second), (Labels{"a", "c"}));
}

TEST_F(RoomTest, BroadcastReachesEveryMemberButExcept) {
  Room room("r", 10);
  room.add(a);
  room.add(b);
  room.add(c);
  FramePtr frame = Frame::text(R"({"type":"presence"})");
  EXPECT_EQ(room.broadcast(frame, &b), 2u);
  EXPECT_EQ(a.frames.size(), 1u);
  EXPECT_EQ(b.frames.size(), 0u);
  EXPECT_EQ(c.frames.size(), 1u);
  EXPECT_EQ(d.frames.size(), 0u) << "not a member";

  EXPECT_EQ(room.broadcast(frame), 3u);
  EXPECT_EQ(a.frames.size(), 2u);
  EXPECT_EQ(b.frames.size(), 1u);
  EXPECT_EQ(c.frames.size(), 2u);

  // An `except` who is not a member excludes no one.
  EXPECT_EQ(room.broadcast(frame, &d), 3u);
  EXPECT_EQ(d.frames.size(), 0u);
}

TEST_F(RoomTest, BroadcastSharesTheSameFrameObject) {
  Room room("r", 10);
  for (FakeParticipant* p : all) room.add(*p);
  FramePtr frame = Frame::text(R"({"type":"message","text":"hi"})");
  const Frame* raw = frame.get();
  room.broadcast(frame);
  for (FakeParticipant* p : all) {
    ASSERT_EQ(p->frames.size(), 1u) << p->label();
    EXPECT_EQ(p->frames[0].get(), raw) << p->label() << " got a copy";
  }
  EXPECT_EQ(frame.use_count(), 1 + long(all.size()));
}

TEST_F(RoomTest, SeqIncrementsByOne) {
  Room room("r", 10);
  EXPECT_EQ(room.next_seq(), 1u);
  EXPECT_EQ(room.next_seq(), 2u);
  EXPECT_EQ(room.next_seq(), 3u);
  Room other("s", 10);
  EXPECT_EQ(other.next_seq(), 1u) << "each room has its own sequence";
  EXPECT_EQ(room.next_seq(), 4u);
}

std::vector<std::string> as_strings(const std::vector<std::string_view>& views) {
  return std::vector<std::string>(views.begin(), views.end());
}

// Messages as the hub keeps them: a seq from next_seq(), then remember().
// Returns the payloads, seq 1 first.
std::vector<std::string> post(Room& room, int count, std::size_t text_bytes = 0) {
  std::vector<std::string> sent;
  for (int i = 0; i < count; ++i) {
    std::string seq = std::to_string(room.next_seq());
    seq.insert(0, 4 - std::min<std::size_t>(4, seq.size()), '0');  // one length for all
    std::string payload = R"({"seq":")";
    payload += seq;
    payload += R"(","t":")";
    payload.append(text_bytes, 'x');
    payload += "\"}";
    sent.push_back(payload);
    room.remember(Frame::text(sent.back()));
  }
  return sent;
}

Room::HistorySlice newest(const Room& room, std::size_t limit, std::size_t max_bytes = SIZE_MAX) {
  return room.history({.limit = limit, .max_bytes = max_bytes});
}

TEST_F(RoomTest, HistoryReturnsPayloadsOldestFirst) {
  Room room("r", 4);
  std::vector<std::string> sent = post(room, 3);
  EXPECT_EQ(as_strings(newest(room, 10).messages), sent);
  EXPECT_EQ(as_strings(newest(room, 3).messages), sent);
  EXPECT_EQ(as_strings(newest(room, 2).messages), (std::vector<std::string>{sent[1], sent[2]}));
  EXPECT_TRUE(newest(room, 0).messages.empty());

  // Past the history size the oldest fall out.
  std::vector<std::string> more = post(room, 6);
  sent.insert(sent.end(), more.begin(), more.end());
  std::vector<std::string> last_four(sent.end() - 4, sent.end());
  EXPECT_EQ(as_strings(newest(room, 100).messages), last_four);
  EXPECT_EQ(as_strings(newest(room, 4).messages), last_four);
  EXPECT_EQ(as_strings(newest(room, 1).messages), std::vector<std::string>{sent.back()});
  EXPECT_FALSE(newest(room, 100).truncated);
}

TEST_F(RoomTest, HistoryWithoutHistory) {
  Room room("r", 0);
  post(room, 2);
  EXPECT_FALSE(room.has_history());
  EXPECT_EQ(room.history_bytes(), 0u);
  EXPECT_TRUE(newest(room, 10).messages.empty());
}

TEST_F(RoomTest, BeforeSeqPagesBackAndSinceSeqFillsAGap) {
  Room room("r", 10);
  std::vector<std::string> sent = post(room, 15);  // seqs 6..15 kept
  // sent[k] has seq k + 1.
  auto seqs = [&](std::size_t first, std::size_t last) {
    return std::vector<std::string>(sent.begin() + first - 1, sent.begin() + last);
  };
  auto ask = [&](std::size_t limit, std::optional<std::uint64_t> before,
                 std::optional<std::uint64_t> since) {
    return as_strings(
        room.history({.limit = limit, .before_seq = before, .since_seq = since}).messages);
  };
  EXPECT_EQ(ask(3, 12, std::nullopt), seqs(9, 11)) << "the newest before 12";
  EXPECT_EQ(ask(100, 9, std::nullopt), seqs(6, 8)) << "down to the oldest kept";
  EXPECT_TRUE(ask(100, 6, std::nullopt).empty()) << "nothing kept before the oldest";
  EXPECT_TRUE(ask(100, 0, std::nullopt).empty());
  EXPECT_EQ(ask(2, 1000, std::nullopt), seqs(14, 15)) << "before past the newest";
  EXPECT_EQ(ask(3, std::nullopt, 8), seqs(9, 11)) << "the oldest after 8";
  EXPECT_EQ(ask(100, std::nullopt, 12), seqs(13, 15));
  EXPECT_EQ(ask(100, std::nullopt, 0), seqs(6, 15)) << "a gap older than the history";
  EXPECT_TRUE(ask(100, std::nullopt, 15).empty()) << "nothing after the newest";
  EXPECT_TRUE(ask(100, std::nullopt, 99).empty());
  EXPECT_EQ(ask(100, 12, 8), seqs(9, 11)) << "both: the range between";
  EXPECT_EQ(ask(2, 12, 7), seqs(8, 9)) << "both: from the oldest end";
  EXPECT_TRUE(ask(100, 9, 8).empty());
}

TEST_F(RoomTest, HistoryWithinItsBytesKeepsTheNewestOrWithSinceTheOldest) {
  Room room("r", 10);
  std::vector<std::string> sent = post(room, 10, 100);
  std::size_t each = sent[0].size() + 1;  // a payload and its separator
  for (const std::string& m : sent) ASSERT_EQ(m.size() + 1, each);

  Room::HistorySlice slice = newest(room, 10, 3 * each);
  EXPECT_TRUE(slice.truncated);
  EXPECT_EQ(as_strings(slice.messages), std::vector<std::string>(sent.end() - 3, sent.end()));
  slice = newest(room, 10, 3 * each - 1);
  EXPECT_EQ(slice.messages.size(), 2u) << "a message that does not fit whole is left out";
  EXPECT_TRUE(slice.truncated);
  slice = newest(room, 3, 3 * each);
  EXPECT_FALSE(slice.truncated) << "the limit, not the bytes, ended it";
  EXPECT_EQ(slice.messages.size(), 3u);
  slice = newest(room, 10, 0);
  EXPECT_TRUE(slice.messages.empty());
  EXPECT_TRUE(slice.truncated);

  slice = room.history({.limit = 10, .since_seq = 2, .max_bytes = 3 * each});
  EXPECT_TRUE(slice.truncated);
  EXPECT_EQ(as_strings(slice.messages),
            std::vector<std::string>(sent.begin() + 2, sent.begin() + 5));
  slice = room.history({.limit = 10, .before_seq = 9, .max_bytes = 2 * each});
  EXPECT_TRUE(slice.truncated);
  EXPECT_EQ(as_strings(slice.messages),
            std::vector<std::string>(sent.begin() + 6, sent.begin() + 8));
}

TEST_F(RoomTest, HistoryBytesCountTheFramesKept) {
  Room room("r", 3);
  std::size_t total = 0;
  std::vector<std::size_t> sizes;
  for (int i = 0; i < 3; ++i) {
    room.next_seq();
    FramePtr frame = Frame::text(std::string(100 * (i + 1), 'a'));
    sizes.push_back(frame->size());
    total += frame->size();
    room.remember(frame);
  }
  EXPECT_EQ(room.history_bytes(), total);
  room.next_seq();
  FramePtr fourth = Frame::text("b");
  room.remember(fourth);  // pushes the first out
  EXPECT_EQ(room.history_bytes(), total - sizes[0] + fourth->size());
  room.forget_oldest();
  EXPECT_EQ(room.history_bytes(), sizes[2] + fourth->size());
  EXPECT_EQ(room.history_count(), 2u);
  room.forget_oldest();
  room.forget_oldest();
  EXPECT_FALSE(room.has_history());
  EXPECT_EQ(room.history_bytes(), 0u);
  // The sequence goes on: the next message is seq 5, alone in the history.
  room.next_seq();
  room.remember(Frame::text("c"));
  EXPECT_EQ(as_strings(room.history({.limit = 10, .since_seq = 4}).messages),
            std::vector<std::string>{"c"});
}

}  // namespace
}  // namespace loopchat
