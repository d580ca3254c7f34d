// Room: membership slots stay consistent and broadcasts share one frame.
// (A room's seq and history: local_engine_test.cpp.)
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
  Room room("lobby");
  EXPECT_EQ(room.name(), "lobby");
  EXPECT_TRUE(room.empty());
  EXPECT_EQ(room.size(), 0u);
  EXPECT_EQ(members_in_order(room), Labels{});
}

TEST_F(RoomTest, AddKeepsSlots) {
  Room room("r");
  room.add(a);
  room.add(b);
  room.add(c);
  EXPECT_EQ(room.size(), 3u);
  EXPECT_FALSE(room.empty());
  EXPECT_EQ(members_in_order(room), (Labels{"a", "b", "c"}));
}

TEST_F(RoomTest, RemoveFromTheMiddle) {
  Room room("r");
  for (FakeParticipant* p : all) room.add(*p);
  room.remove(b);
  EXPECT_EQ(room.size(), 3u);
  EXPECT_EQ(members_in_order(room), (Labels{"a", "c", "d"}));
  room.remove(a);  // the first slot
  EXPECT_EQ(members_in_order(room), (Labels{"c", "d"}));
}

TEST_F(RoomTest, RemoveFromTheEnd) {
  Room room("r");
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
  Room room("r");
  room.add(a);
  room.remove(a);
  EXPECT_TRUE(room.empty());
  EXPECT_TRUE(a.memberships.empty());
  EXPECT_EQ(members_in_order(room), Labels{});
}

TEST_F(RoomTest, RemoveANonMemberChangesNothing) {
  Room room("r");
  room.add(a);
  room.add(b);
  room.remove(c);
  EXPECT_EQ(room.size(), 2u);
  EXPECT_EQ(members_in_order(room), (Labels{"a", "b"}));
}

TEST_F(RoomTest, ReAddAfterRemove) {
  Room room("r");
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
    Room room("r");
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
  Room first("one"), second("two");
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
  Room room("r");
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
  Room room("r");
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

}  // namespace
}  // namespace loopchat
