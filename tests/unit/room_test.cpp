// Room: membership slots stay consistent, broadcasts share one frame, the
// sequence counts up and the history returns the most recent payloads.
#include "server/chat/room.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "tests/unit/fake_participant.hpp"

namespace loopchat {
namespace {

using fakes::FakeParticipant;

// prefix + n + suffix, built by appending (GCC 12 warns falsely on "x" + string).
std::string numbered(std::string_view prefix, long long n, std::string_view suffix = {}) {
  std::string out(prefix);
  out += std::to_string(n);
  out += suffix;
  return out;
}

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
  EXPECT_TRUE(room.recent(10).empty());
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

TEST_F(RoomTest, RecentReturnsPayloadsOldestFirst) {
  Room room("r", 4);
  std::vector<std::string> sent;
  for (int i = 1; i <= 3; ++i) {
    sent.push_back(numbered(R"({"n":)", i, "}"));
    room.remember(Frame::text(sent.back()));
  }
  auto as_strings = [](const std::vector<std::string_view>& views) {
    return std::vector<std::string>(views.begin(), views.end());
  };
  EXPECT_EQ(as_strings(room.recent(10)), sent);
  EXPECT_EQ(as_strings(room.recent(3)), sent);
  EXPECT_EQ(as_strings(room.recent(2)), (std::vector<std::string>{sent[1], sent[2]}));
  EXPECT_TRUE(room.recent(0).empty());

  // Past the history size the oldest fall out.
  for (int i = 4; i <= 9; ++i) {
    sent.push_back(numbered(R"({"n":)", i, "}"));
    room.remember(Frame::text(sent.back()));
  }
  std::vector<std::string> last_four(sent.end() - 4, sent.end());
  EXPECT_EQ(as_strings(room.recent(100)), last_four);
  EXPECT_EQ(as_strings(room.recent(4)), last_four);
  EXPECT_EQ(as_strings(room.recent(1)), std::vector<std::string>{sent.back()});
}

TEST_F(RoomTest, RecentWithoutHistory) {
  Room room("r", 0);
  room.remember(Frame::text("{}"));
  EXPECT_TRUE(room.recent(10).empty());
}

}  // namespace
}  // namespace loopchat
