// Hub: the chat state behind join/leave/nick/say/history, driven through fake
// participants that record the frames queued to them.
#include "server/chat/hub.hpp"
#include "server/engine/local_engine.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/codec.hpp"
#include "server/config.hpp"
#include "server/ops/metrics.hpp"
#include "tests/unit/fake_participant.hpp"

namespace loopchat {
namespace {

using fakes::FakeParticipant;
using protocol::ErrorCode;
using protocol::PresenceEvent;
using protocol::RequestId;

// prefix + n + suffix, built by appending (GCC 12 warns falsely on "x" + string).
std::string numbered(std::string_view prefix, long long n, std::string_view suffix = {}) {
  std::string out(prefix);
  out += std::to_string(n);
  out += suffix;
  return out;
}

Config small_config() {
  Config config;
  config.history_size = 5;
  config.history_default_limit = 3;
  config.max_rooms = 3;
  config.max_rooms_per_client = 2;
  config.quiet = true;
  return config;
}

RequestId sid(const char* text) {
  return RequestId(std::string(text));
}
RequestId iid(std::int64_t number) {
  return RequestId(number);
}

class HubTest : public ::testing::Test {
 protected:
  // A connected participant whose welcome frame has been consumed.
  FakeParticipant& connect() {
    people.push_back(std::make_unique<FakeParticipant>(numbered("p", people.size())));
    FakeParticipant& p = *people.back();
    hub.connect(p);
    p.clear();
    return p;
  }

  void expect_ok(const Hub::Outcome& outcome) {
    if (outcome)
      ADD_FAILURE() << "unexpected error " << protocol::to_string(outcome->code) << ": "
                    << outcome->message;
  }
  void expect_error(const Hub::Outcome& outcome, ErrorCode code, const RequestId& id) {
    ASSERT_TRUE(outcome.has_value()) << "expected " << protocol::to_string(code);
    EXPECT_EQ(outcome->code, code)
        << protocol::to_string(outcome->code) << ": " << outcome->message;
    EXPECT_EQ(outcome->id, id);
  }

  void join(FakeParticipant& p, const std::string& room, const RequestId& id = {}) {
    expect_ok(hub.join(p, protocol::Join{room}, id));
  }
  void leave(FakeParticipant& p, const std::string& room, const RequestId& id = {}) {
    expect_ok(hub.leave(p, protocol::Leave{room}, id));
  }
  void say(FakeParticipant& p, const std::string& room, const std::string& text,
           const RequestId& id = {}) {
    expect_ok(hub.say(p, protocol::Say{room, text}, id));
  }
  // The history event answered to `p` (its frames are cleared first).
  protocol::History history(FakeParticipant& p, const std::string& room,
                            std::optional<std::uint32_t> limit, const RequestId& id = {}) {
    p.clear();
    expect_ok(hub.history(p, protocol::HistoryRequest{room, limit}, id));
    std::vector<protocol::History> answers = p.events_of<protocol::History>();
    EXPECT_EQ(p.frames.size(), 1u);
    EXPECT_EQ(answers.size(), 1u);
    p.clear();
    return answers.empty() ? protocol::History{} : answers.front();
  }
  void clear_all() {
    for (auto& p : people) p->clear();
  }

  Config config = small_config();
  Metrics metrics;
  LocalEngine engine{config, metrics, nullptr};
  Hub hub{config, metrics, engine};
  std::vector<std::unique_ptr<FakeParticipant>> people;
};

std::vector<std::uint64_t> seqs(const std::vector<protocol::Message>& messages) {
  std::vector<std::uint64_t> out;
  for (const protocol::Message& m : messages) out.push_back(m.seq);
  return out;
}

std::vector<std::string> texts(const std::vector<protocol::Message>& messages) {
  std::vector<std::string> out;
  for (const protocol::Message& m : messages) out.push_back(m.text);
  return out;
}

// ---------------------------------------------------------------- connect

TEST_F(HubTest, ConnectAssignsDistinctGuestNamesAndWelcomes) {
  std::set<std::string> names;
  for (int i = 0; i < 5; ++i) {
    people.push_back(std::make_unique<FakeParticipant>());
    FakeParticipant& p = *people.back();
    hub.connect(p);
    EXPECT_FALSE(p.name.empty());
    EXPECT_EQ(p.name.rfind("guest-", 0), 0u) << p.name;
    EXPECT_TRUE(protocol::valid_nickname(p.name)) << p.name;
    names.insert(p.name);
    ASSERT_EQ(p.frames.size(), 1u);
    std::vector<protocol::Welcome> welcome = p.events_of<protocol::Welcome>();
    ASSERT_EQ(welcome.size(), 1u) << p.frames[0]->payload();
    EXPECT_EQ(welcome[0].name, p.name);
    EXPECT_FALSE(welcome[0].version.empty());
  }
  EXPECT_EQ(names.size(), 5u);
  EXPECT_EQ(hub.connected(), 5u);
}

TEST_F(HubTest, GuestNameTakenByNickIsSkipped) {
  FakeParticipant& a = connect();
  // Take the next guest names before they are handed out.
  std::string number = a.name.substr(6);
  std::string next = numbered("guest-", std::stoll(number) + 1);
  expect_ok(hub.nick(a, protocol::Nick{next}, {}));
  FakeParticipant& b = connect();
  EXPECT_NE(b.name, next);
  EXPECT_NE(b.name, a.name);
  EXPECT_EQ(hub.connected(), 2u);
}

// ------------------------------------------------------------------- join

TEST_F(HubTest, JoinAnswersJoinedWithMemberCountAndPresenceToOthers) {
  FakeParticipant& a = connect();
  FakeParticipant& b = connect();
  FakeParticipant& c = connect();
  FakeParticipant& outsider = connect();

  join(a, "lobby", sid("j-a"));
  ASSERT_EQ(a.frames.size(), 1u);
  auto joined = a.events_of<protocol::Joined>();
  ASSERT_EQ(joined.size(), 1u);
  EXPECT_EQ(joined[0].room, "lobby");
  EXPECT_EQ(joined[0].members, 1u);
  EXPECT_EQ(joined[0].id, sid("j-a"));
  a.clear();

  join(b, "lobby", iid(2));
  ASSERT_EQ(b.frames.size(), 1u) << "the joiner gets no presence of itself";
  joined = b.events_of<protocol::Joined>();
  ASSERT_EQ(joined.size(), 1u);
  EXPECT_EQ(joined[0].members, 2u);
  EXPECT_EQ(joined[0].id, iid(2));
  auto presence = a.events_of<protocol::Presence>();
  ASSERT_EQ(a.frames.size(), 1u);
  ASSERT_EQ(presence.size(), 1u);
  EXPECT_EQ(presence[0].room, "lobby");
  EXPECT_EQ(presence[0].name, b.name);
  EXPECT_EQ(presence[0].event, PresenceEvent::join);
  clear_all();

  join(c, "lobby");
  EXPECT_EQ(c.events_of<protocol::Joined>().at(0).members, 3u);
  EXPECT_TRUE(c.events_of<protocol::Presence>().empty());
  for (FakeParticipant* other : {&a, &b}) {
    auto seen = other->events_of<protocol::Presence>();
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].name, c.name);
    EXPECT_EQ(seen[0].event, PresenceEvent::join);
  }
  EXPECT_TRUE(outsider.frames.empty());
  EXPECT_EQ(hub.active_rooms(), 1u);
}

TEST_F(HubTest, PresenceMaxMembersSilencesJoinAndLeaveInBigRooms) {
  config.presence_max_members = 2;
  FakeParticipant& a = connect();
  FakeParticipant& b = connect();
  FakeParticipant& c = connect();
  join(a, "big");
  join(b, "big");  // 1 member before: announced
  EXPECT_EQ(a.events_of<protocol::Presence>().size(), 1u);
  join(c, "big");  // 2 members before: still announced
  EXPECT_EQ(a.events_of<protocol::Presence>().size(), 2u);
  FakeParticipant& d = connect();
  clear_all();
  join(d, "big");  // 3 members: silent
  for (FakeParticipant* other : {&a, &b, &c}) EXPECT_TRUE(other->frames.empty());
  leave(d, "big");  // 3 left: silent
  for (FakeParticipant* other : {&a, &b, &c}) EXPECT_TRUE(other->frames.empty());
  leave(c, "big");  // 2 left: announced
  EXPECT_EQ(a.events_of<protocol::Presence>().size(), 1u);
  EXPECT_EQ(a.events_of<protocol::Presence>().at(0).event, PresenceEvent::leave);
}

TEST(HubPresence, ByDefaultARoomOfMoreThanAHundredFillsWithoutPresence) {
  Config defaults;
  Metrics metrics;
  LocalEngine engine(defaults, metrics, nullptr);
  Hub hub(defaults, metrics, engine);
  std::vector<std::unique_ptr<FakeParticipant>> people;
  std::size_t presence = 0;
  for (int i = 0; i < 150; ++i) {
    people.push_back(std::make_unique<FakeParticipant>());
    hub.connect(*people.back());
    ASSERT_FALSE(hub.join(*people.back(), protocol::Join{"big"}, {}));
  }
  for (auto& p : people) presence += p->events_of<protocol::Presence>().size();
  // The k-th joiner (k = 0..) announces itself to k members while k <= 100.
  EXPECT_EQ(presence, 100u * 101 / 2) << "150²/2 frames without the default";
}

TEST_F(HubTest, JoiningAgainIsHarmless) {
  FakeParticipant& a = connect();
  FakeParticipant& b = connect();
  join(a, "r");
  join(b, "r");
  clear_all();
  join(b, "r", sid("again"));
  auto joined = b.events_of<protocol::Joined>();
  ASSERT_EQ(joined.size(), 1u);
  EXPECT_EQ(joined[0].members, 2u);
  EXPECT_EQ(joined[0].id, sid("again"));
  EXPECT_TRUE(a.frames.empty()) << "no second presence join";
  EXPECT_EQ(b.memberships.size(), 1u);
}

// ------------------------------------------------------------------ leave

TEST_F(HubTest, LeaveAnswersLeftAndPresenceLeave) {
  FakeParticipant& a = connect();
  FakeParticipant& b = connect();
  FakeParticipant& c = connect();
  join(a, "r");
  join(b, "r");
  join(c, "r");
  clear_all();

  leave(b, "r", sid("bye"));
  ASSERT_EQ(b.frames.size(), 1u);
  auto left = b.events_of<protocol::Left>();
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].room, "r");
  EXPECT_EQ(left[0].members, 2u);
  EXPECT_EQ(left[0].id, sid("bye"));
  for (FakeParticipant* other : {&a, &c}) {
    auto presence = other->events_of<protocol::Presence>();
    ASSERT_EQ(presence.size(), 1u);
    EXPECT_EQ(presence[0].room, "r");
    EXPECT_EQ(presence[0].name, b.name);
    EXPECT_EQ(presence[0].event, PresenceEvent::leave);
  }
  EXPECT_TRUE(b.memberships.empty());
  clear_all();

  // b no longer receives the room's messages.
  say(a, "r", "after");
  EXPECT_TRUE(b.frames.empty());
  EXPECT_EQ(c.frames.size(), 1u);
}

TEST_F(HubTest, LastMemberLeavingSeesZeroMembers) {
  FakeParticipant& a = connect();
  join(a, "solo");
  a.clear();
  leave(a, "solo", iid(4));
  auto left = a.events_of<protocol::Left>();
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].members, 0u);
  EXPECT_EQ(a.frames.size(), 1u);
  EXPECT_EQ(hub.active_rooms(), 0u);
}

TEST_F(HubTest, LeaveARoomNotJoinedIsNotInRoom) {
  FakeParticipant& a = connect();
  FakeParticipant& b = connect();
  expect_error(hub.leave(a, protocol::Leave{"nowhere"}, sid("l1")), ErrorCode::not_in_room,
               sid("l1"));
  join(b, "exists");
  clear_all();
  expect_error(hub.leave(a, protocol::Leave{"exists"}, iid(3)), ErrorCode::not_in_room, iid(3));
  EXPECT_TRUE(a.frames.empty());
  EXPECT_TRUE(b.frames.empty());
  // Leaving twice.
  leave(b, "exists");
  expect_error(hub.leave(b, protocol::Leave{"exists"}, {}), ErrorCode::not_in_room, {});
}

// ------------------------------------------------------------------- nick

TEST_F(HubTest, NickSendsPresenceNickToRoomMates) {
  FakeParticipant& a = connect();
  FakeParticipant& b = connect();
  FakeParticipant& c = connect();
  FakeParticipant& stranger = connect();
  join(a, "one");
  join(b, "one");
  join(a, "two");
  join(c, "two");
  join(stranger, "three");
  clear_all();

  expect_ok(hub.nick(a, protocol::Nick{"alice"}, sid("n")));
  EXPECT_EQ(a.name, "alice");
  EXPECT_TRUE(a.frames.empty()) << "no presence to the renamed one";
  EXPECT_TRUE(stranger.frames.empty());
  auto to_b = b.events_of<protocol::Presence>();
  ASSERT_EQ(to_b.size(), 1u);
  EXPECT_EQ(to_b[0].room, "one");
  EXPECT_EQ(to_b[0].name, "alice");
  EXPECT_EQ(to_b[0].event, PresenceEvent::nick);
  auto to_c = c.events_of<protocol::Presence>();
  ASSERT_EQ(to_c.size(), 1u);
  EXPECT_EQ(to_c[0].room, "two");
  EXPECT_EQ(to_c[0].name, "alice");
  EXPECT_EQ(to_c[0].event, PresenceEvent::nick);

  // Messages now come from the new name.
  clear_all();
  say(a, "one", "hi");
  EXPECT_EQ(b.events_of<protocol::Message>().at(0).from, "alice");
}

TEST_F(HubTest, NickTakenIsNameTaken) {
  FakeParticipant& a = connect();
  FakeParticipant& b = connect();
  join(a, "r");
  join(b, "r");
  expect_ok(hub.nick(a, protocol::Nick{"alice"}, {}));
  clear_all();
  std::string before = b.name;
  expect_error(hub.nick(b, protocol::Nick{"alice"}, sid("t")), ErrorCode::name_taken, sid("t"));
  EXPECT_EQ(b.name, before);
  EXPECT_EQ(a.name, "alice");
  EXPECT_TRUE(a.frames.empty());
  // A guest name in use is taken too.
  expect_error(hub.nick(a, protocol::Nick{before}, iid(1)), ErrorCode::name_taken, iid(1));
  EXPECT_EQ(a.name, "alice");
}

TEST_F(HubTest, NickToTheSameNameIsNoError) {
  FakeParticipant& a = connect();
  FakeParticipant& b = connect();
  join(a, "r");
  join(b, "r");
  expect_ok(hub.nick(a, protocol::Nick{"alice"}, {}));
  clear_all();
  expect_ok(hub.nick(a, protocol::Nick{"alice"}, sid("same")));
  EXPECT_EQ(a.name, "alice");
  EXPECT_TRUE(b.frames.empty()) << "nothing changed, nothing to announce";
  // Still owned: nobody else can take it.
  expect_error(hub.nick(b, protocol::Nick{"alice"}, {}), ErrorCode::name_taken, {});
}

TEST_F(HubTest, OldNameIsFreedByNick) {
  FakeParticipant& a = connect();
  FakeParticipant& b = connect();
  std::string old_name = a.name;
  expect_ok(hub.nick(a, protocol::Nick{"alice"}, {}));
  expect_ok(hub.nick(b, protocol::Nick{old_name}, {}));
  EXPECT_EQ(b.name, old_name);
  EXPECT_EQ(hub.connected(), 2u);
}

// -------------------------------------------------------------------- say

TEST_F(HubTest, SayReachesEveryMemberWithOneSharedFrame) {
  FakeParticipant& a = connect();
  FakeParticipant& b = connect();
  FakeParticipant& c = connect();
  FakeParticipant& outsider = connect();
  join(a, "r");
  join(b, "r");
  join(c, "r");
  join(outsider, "elsewhere");
  clear_all();

  const std::vector<RequestId> ids = {sid("s1"), iid(2), RequestId{}};
  for (std::size_t i = 0; i < ids.size(); ++i)
    say(i == 1 ? b : a, "r", numbered("text ", i + 1), ids[i]);

  for (FakeParticipant* p : {&a, &b, &c}) {
    ASSERT_EQ(p->frames.size(), 3u) << p->label();
    for (std::size_t i = 0; i < 3; ++i)
      EXPECT_EQ(p->frames[i].get(), a.frames[i].get()) << "a per-recipient copy for " << p->label();
    auto messages = p->events_of<protocol::Message>();
    ASSERT_EQ(messages.size(), 3u);
    EXPECT_EQ(seqs(messages), (std::vector<std::uint64_t>{1, 2, 3}));
    EXPECT_EQ(texts(messages), (std::vector<std::string>{"text 1", "text 2", "text 3"}));
    for (std::size_t i = 0; i < 3; ++i) {
      EXPECT_EQ(messages[i].room, "r");
      EXPECT_EQ(messages[i].id, ids[i]) << "message " << i;
      EXPECT_EQ(messages[i].from, i == 1 ? b.name : a.name);
      EXPECT_GT(messages[i].ts, 0);
    }
  }
  EXPECT_TRUE(outsider.frames.empty());
  EXPECT_EQ(metrics.messages_in, 3u);
  EXPECT_EQ(metrics.messages_out, 9u);
}

TEST_F(HubTest, SeqIsPerRoom) {
  FakeParticipant& a = connect();
  join(a, "x");
  join(a, "y");
  a.clear();
  say(a, "x", "1");
  say(a, "y", "1");
  say(a, "x", "2");
  auto messages = a.events_of<protocol::Message>();
  ASSERT_EQ(messages.size(), 3u);
  EXPECT_EQ(messages[0].seq, 1u);
  EXPECT_EQ(messages[1].seq, 1u);
  EXPECT_EQ(messages[2].seq, 2u);
}

TEST_F(HubTest, SayToARoomNotJoinedIsNotInRoom) {
  FakeParticipant& a = connect();
  FakeParticipant& b = connect();
  expect_error(hub.say(a, protocol::Say{"nowhere", "x"}, sid("q")), ErrorCode::not_in_room,
               sid("q"));
  join(b, "r");
  clear_all();
  expect_error(hub.say(a, protocol::Say{"r", "x"}, iid(5)), ErrorCode::not_in_room, iid(5));
  EXPECT_TRUE(a.frames.empty());
  EXPECT_TRUE(b.frames.empty()) << "a refused say reaches no one";
  EXPECT_TRUE(history(b, "r", std::nullopt).messages.empty()) << "and is not remembered";
  EXPECT_EQ(metrics.messages_in, 0u);
}

// ---------------------------------------------------------------- history

class HubHistoryTest : public HubTest {
 protected:
  void SetUp() override {
    a = &connect();
    join(*a, "r");
    for (int i = 1; i <= 7; ++i) say(*a, "r", numbered("m", i), iid(i));
    sent = a->payloads();
    sent.erase(sent.begin());  // the `joined` answer
    ASSERT_EQ(sent.size(), 7u);
  }
  FakeParticipant* a = nullptr;
  std::vector<std::string> sent;  // the message frames, as delivered
};

TEST_F(HubHistoryTest, DefaultLimit) {
  protocol::History h = history(*a, "r", std::nullopt, sid("h"));
  EXPECT_EQ(h.room, "r");
  EXPECT_EQ(h.id, sid("h"));
  ASSERT_EQ(h.messages.size(), config.history_default_limit);
  EXPECT_EQ(seqs(h.messages), (std::vector<std::uint64_t>{5, 6, 7}));
  EXPECT_EQ(texts(h.messages), (std::vector<std::string>{"m5", "m6", "m7"}));
  EXPECT_EQ(h.messages[0].id, iid(5));
  EXPECT_EQ(h.messages[0].from, a->name);
}

TEST_F(HubHistoryTest, ExplicitLimit) {
  protocol::History h = history(*a, "r", 2u, iid(9));
  EXPECT_EQ(h.id, iid(9));
  EXPECT_EQ(seqs(h.messages), (std::vector<std::uint64_t>{6, 7}));
  h = history(*a, "r", 4u);
  EXPECT_EQ(seqs(h.messages), (std::vector<std::uint64_t>{4, 5, 6, 7}));
}

TEST_F(HubHistoryTest, LimitZero) {
  protocol::History h = history(*a, "r", 0u);
  EXPECT_EQ(h.room, "r");
  EXPECT_TRUE(h.messages.empty());
}

TEST_F(HubHistoryTest, LimitLargerThanTheHistorySize) {
  protocol::History h = history(*a, "r", 1000u);
  ASSERT_EQ(h.messages.size(), config.history_size);
  EXPECT_EQ(seqs(h.messages), (std::vector<std::uint64_t>{3, 4, 5, 6, 7}));
}

TEST_F(HubHistoryTest, MessagesAreTheFramesSentVerbatim) {
  a->clear();
  expect_ok(hub.history(*a, protocol::HistoryRequest{"r", 5u}, {}));
  ASSERT_EQ(a->frames.size(), 1u);
  std::string payload(a->frames[0]->payload());
  std::size_t position = 0;
  for (std::size_t i = 2; i < sent.size(); ++i) {
    std::size_t found = payload.find(sent[i], position);
    EXPECT_NE(found, std::string::npos) << sent[i];
    if (found != std::string::npos) position = found + sent[i].size();
  }
}

TEST_F(HubHistoryTest, ARoomNeverCreatedHasAnEmptyHistory) {
  FakeParticipant& b = connect();
  protocol::History h = history(b, "never", std::nullopt, sid("n"));
  EXPECT_EQ(h.room, "never");
  EXPECT_EQ(h.id, sid("n"));
  EXPECT_TRUE(h.messages.empty());
  EXPECT_EQ(hub.active_rooms(), 1u) << "asking for history creates no room";
}

TEST_F(HubHistoryTest, AnyoneMayReadAndTheEmptyRoomKeepsIt) {
  FakeParticipant& b = connect();
  EXPECT_EQ(history(b, "r", 1u).messages.size(), 1u);
  leave(*a, "r");
  EXPECT_EQ(seqs(history(b, "r", 2u).messages), (std::vector<std::uint64_t>{6, 7}));
}

// ------------------------------------------------------------- disconnect

TEST_F(HubTest, DisconnectLeavesEveryRoomAndFreesTheName) {
  FakeParticipant& a = connect();
  FakeParticipant& b = connect();
  FakeParticipant& c = connect();
  join(a, "one");
  join(a, "two");
  join(b, "one");
  join(b, "two");
  join(c, "two");
  ASSERT_EQ(hub.connected(), 3u);
  expect_ok(hub.nick(a, protocol::Nick{"alice"}, {}));
  clear_all();

  hub.disconnect(a);
  EXPECT_TRUE(a.memberships.empty());
  EXPECT_EQ(hub.connected(), 2u);

  auto to_b = b.events_of<protocol::Presence>();
  ASSERT_EQ(to_b.size(), 2u);
  std::set<std::string> rooms;
  for (const auto& p : to_b) {
    EXPECT_EQ(p.name, "alice");
    EXPECT_EQ(p.event, PresenceEvent::leave);
    rooms.insert(p.room);
  }
  EXPECT_EQ(rooms, (std::set<std::string>{"one", "two"}));
  auto to_c = c.events_of<protocol::Presence>();
  ASSERT_EQ(to_c.size(), 1u);
  EXPECT_EQ(to_c[0].room, "two");
  EXPECT_EQ(to_c[0].name, "alice");
  EXPECT_EQ(to_c[0].event, PresenceEvent::leave);

  // Its name is free again.
  expect_ok(hub.nick(c, protocol::Nick{"alice"}, {}));
  EXPECT_EQ(c.name, "alice");
  // And it gets nothing from its former rooms.
  a.clear();
  say(b, "one", "gone?");
  EXPECT_TRUE(a.frames.empty());
  // The member count no longer includes it.
  join(c, "one", sid("c1"));
  auto joined = c.events_of<protocol::Joined>();
  ASSERT_EQ(joined.size(), 1u);
  EXPECT_EQ(joined[0].members, 2u);
}

TEST_F(HubTest, DisconnectWithoutRoomsFreesTheGuestName) {
  FakeParticipant& a = connect();
  FakeParticipant& b = connect();
  std::string guest = a.name;
  hub.disconnect(a);
  EXPECT_EQ(hub.connected(), 1u);
  expect_ok(hub.nick(b, protocol::Nick{guest}, {}));
  EXPECT_EQ(b.name, guest);
}

TEST_F(HubTest, DisconnectOfAReplacedNameKeepsTheNewOwner) {
  FakeParticipant& a = connect();
  FakeParticipant& b = connect();
  std::string old_name = a.name;
  expect_ok(hub.nick(a, protocol::Nick{"alice"}, {}));
  expect_ok(hub.nick(b, protocol::Nick{old_name}, {}));
  hub.disconnect(a);
  FakeParticipant& c = connect();
  expect_error(hub.nick(c, protocol::Nick{old_name}, {}), ErrorCode::name_taken, {});
  expect_ok(hub.nick(c, protocol::Nick{"alice"}, {}));
}

// ----------------------------------------------------------------- limits

TEST_F(HubTest, MaxRoomsPerClientIsServerBusy) {
  FakeParticipant& a = connect();
  join(a, "r1");
  join(a, "r2");
  a.clear();
  expect_error(hub.join(a, protocol::Join{"r3"}, sid("too-many")), ErrorCode::server_busy,
               sid("too-many"));
  EXPECT_TRUE(a.frames.empty());
  EXPECT_EQ(a.memberships.size(), config.max_rooms_per_client);
  // A room already joined is still fine.
  join(a, "r1");
  // After leaving one, another can be joined.
  leave(a, "r1");
  join(a, "r3");
  EXPECT_EQ(a.memberships.size(), 2u);
}

TEST_F(HubTest, MaxRoomsEvictsTheOldestEmptyRoom) {
  FakeParticipant& a = connect();
  FakeParticipant& b = connect();
  FakeParticipant& c = connect();
  // Fill the server's three rooms, each with a message, and empty them in the
  // order r2, r3, r1 (not the order they were created in).
  for (std::string room : {"r1", "r2", "r3"}) {
    join(a, room);
    std::string text = "in ";
    text += room;
    say(a, room, text);
    if (room != "r1") leave(a, room);
  }
  leave(a, "r1");
  EXPECT_EQ(hub.active_rooms(), 0u);
  std::size_t three = hub.history_bytes();  // one message of one size in each
  ASSERT_EQ(three % 3, 0u);
  // Re-fill and re-empty r2 to move it last.
  join(b, "r2");
  leave(b, "r2");  // emptied order: r3, r1, r2

  // A fourth room evicts r3, the least recently emptied one.
  join(c, "r4", sid("r4"));
  auto joined = c.events_of<protocol::Joined>();
  ASSERT_EQ(joined.size(), 1u);
  EXPECT_EQ(joined[0].room, "r4");
  EXPECT_TRUE(history(a, "r3", 10u).messages.empty()) << "r3 should have been evicted";
  EXPECT_EQ(history(a, "r1", 10u).messages.size(), 1u) << "r1 should have been kept";
  EXPECT_EQ(history(a, "r2", 10u).messages.size(), 1u) << "r2 should have been kept";
  EXPECT_EQ(hub.history_bytes(), three / 3 * 2) << "r3's history bytes were released";

  // A fifth room evicts r1, the next least recently emptied.
  join(a, "r5");
  EXPECT_TRUE(history(a, "r1", 10u).messages.empty()) << "r1 should have been evicted";
  EXPECT_EQ(history(a, "r2", 10u).messages.size(), 1u);
  EXPECT_EQ(hub.history_bytes(), three / 3);
  EXPECT_EQ(hub.active_rooms(), 2u);

  // The recreated room starts a fresh sequence.
  clear_all();
  join(b, "r3");
  b.clear();
  say(b, "r3", "fresh");
  auto messages = b.events_of<protocol::Message>();
  ASSERT_EQ(messages.size(), 1u) << "joining r3 again should have evicted r2";
  EXPECT_EQ(messages[0].seq, 1u);
  EXPECT_TRUE(history(a, "r2", 10u).messages.empty());
  EXPECT_EQ(hub.active_rooms(), 3u);
}

TEST_F(HubTest, AllRoomsInUseIsServerBusy) {
  FakeParticipant& a = connect();
  FakeParticipant& b = connect();
  FakeParticipant& c = connect();
  join(a, "r1");
  join(a, "r2");
  join(b, "r3");
  clear_all();
  EXPECT_EQ(hub.active_rooms(), 3u);

  expect_error(hub.join(c, protocol::Join{"r4"}, iid(44)), ErrorCode::server_busy, iid(44));
  EXPECT_TRUE(c.memberships.empty());
  EXPECT_TRUE(c.frames.empty());
  EXPECT_TRUE(a.frames.empty());
  EXPECT_TRUE(b.frames.empty());
  EXPECT_TRUE(history(c, "r4", std::nullopt).messages.empty());

  // Existing rooms can still be joined.
  join(c, "r3");
  EXPECT_EQ(c.events_of<protocol::Joined>().at(0).members, 2u);

  // Once a room empties, the new one replaces it.
  say(a, "r1", "soon gone");
  leave(a, "r1");
  join(c, "r4");
  EXPECT_EQ(hub.active_rooms(), 3u);
  EXPECT_TRUE(history(c, "r1", 10u).messages.empty());
  // And the limit holds again.
  expect_error(hub.join(b, protocol::Join{"r5"}, {}), ErrorCode::server_busy, {});
}

// ------------------------------------------------- history in pages and bytes

// Whether the last frame queued to `p` is a history answer marked truncated.
bool says_truncated(const FakeParticipant& p) {
  return nlohmann::json::parse(p.frames.back()->payload()).value("truncated", false);
}

TEST_F(HubHistoryTest, BeforeSeqPagesBackSinceSeqFillsAGap) {
  auto ask = [&](std::optional<std::uint32_t> limit, std::optional<std::uint64_t> before,
                 std::optional<std::uint64_t> since) {
    a->clear();
    protocol::HistoryRequest request{"r", limit};
    request.before_seq = before;
    request.since_seq = since;
    expect_ok(hub.history(*a, request, {}));
    return a->events_of<protocol::History>().at(0);
  };
  // Seqs 3..7 are kept.
  EXPECT_EQ(seqs(ask(2u, 6, std::nullopt).messages), (std::vector<std::uint64_t>{4, 5}));
  EXPECT_EQ(seqs(ask(std::nullopt, 5, std::nullopt).messages), (std::vector<std::uint64_t>{3, 4}));
  EXPECT_EQ(seqs(ask(2u, std::nullopt, 3).messages), (std::vector<std::uint64_t>{4, 5}));
  EXPECT_EQ(seqs(ask(std::nullopt, std::nullopt, 5).messages), (std::vector<std::uint64_t>{6, 7}));
  ask(2u, 6, std::nullopt);
  EXPECT_FALSE(says_truncated(*a));
}

TEST_F(HubTest, HistoryAnswerIsTrimmedToItsBytesAndCanBePagedThrough) {
  config.history_size = 20;
  config.history_answer_max_bytes = 2000;
  FakeParticipant& a = connect();
  join(a, "r");
  for (int i = 1; i <= 20; ++i) say(a, "r", std::string(300, 'a' + i % 26));
  std::vector<std::uint64_t> seen;
  std::optional<std::uint64_t> before;
  for (int page = 0; page < 20 && seen.size() < 20; ++page) {
    a.clear();
    protocol::HistoryRequest request{"r", 20u};
    request.before_seq = before;
    expect_ok(hub.history(a, request, {}));
    ASSERT_EQ(a.frames.size(), 1u);
    EXPECT_LE(a.frames[0]->size(), config.history_answer_max_bytes);
    protocol::History h = a.events_of<protocol::History>().at(0);
    ASSERT_FALSE(h.messages.empty());
    EXPECT_EQ(says_truncated(a), h.messages.front().seq > 1) << "page " << page;
    std::vector<std::uint64_t> got = seqs(h.messages);
    seen.insert(seen.begin(), got.begin(), got.end());
    before = got.front();
  }
  std::vector<std::uint64_t> all;
  for (std::uint64_t s = 1; s <= 20; ++s) all.push_back(s);
  EXPECT_EQ(seen, all) << "every message once, the newest first";
  EXPECT_GE(metrics.limit_hits[static_cast<int>(Limit::history_answer_bytes)], 3u);

  // since_seq keeps the oldest of what is asked.
  a.clear();
  protocol::HistoryRequest request{"r", 20u};
  request.since_seq = 10;
  expect_ok(hub.history(a, request, {}));
  protocol::History h = a.events_of<protocol::History>().at(0);
  EXPECT_TRUE(says_truncated(a));
  ASSERT_FALSE(h.messages.empty());
  EXPECT_EQ(h.messages.front().seq, 11u);
}

TEST_F(HubTest, HistoryAnswerLeavesRoomInTheQueue) {
  config.history_size = 20;
  FakeParticipant& a = connect();
  join(a, "r");
  for (int i = 1; i <= 20; ++i) say(a, "r", std::string(1000, 'x'));
  // A queue with room for a quarter of its limit plus 3,000 bytes: the answer
  // takes at most those 3,000, the quarter stays free for what follows.
  a.room_bytes = config.max_queue_bytes / 4 + 3000;
  a.clear();
  expect_ok(hub.history(a, protocol::HistoryRequest{"r", 20u}, {}));
  ASSERT_EQ(a.frames.size(), 1u);
  EXPECT_LE(a.frames[0]->size(), 3000u);
  protocol::History h = a.events_of<protocol::History>().at(0);
  EXPECT_TRUE(says_truncated(a));
  EXPECT_EQ(h.messages.size(), 2u);
  EXPECT_EQ(h.messages.back().seq, 20u);
  // No room at all: an empty answer that says so.
  a.room_bytes = 0;
  a.clear();
  expect_ok(hub.history(a, protocol::HistoryRequest{"r", 20u}, {}));
  h = a.events_of<protocol::History>().at(0);
  EXPECT_TRUE(h.messages.empty());
  EXPECT_TRUE(says_truncated(a));
}

TEST_F(HubTest, HistoryBytesTrimTheRoomsLeastRecentlyPostedToFirst) {
  config.history_size = 20;
  FakeParticipant& a = connect();
  FakeParticipant& reader = connect();
  // Rooms of names of one length, messages of one size: each frame is F bytes.
  join(a, "room1");
  for (int i = 0; i < 3; ++i) say(a, "room1", "text");
  leave(a, "room1");  // empty, with its history
  join(a, "room2");
  for (int i = 0; i < 3; ++i) say(a, "room2", "text");
  join(a, "room3");
  for (int i = 0; i < 3; ++i) say(a, "room3", "text");
  std::size_t nine = hub.history_bytes();
  ASSERT_EQ(nine % 9, 0u);
  config.max_history_bytes = nine;
  auto dropped = [&] { return metrics.limit_hits[static_cast<int>(Limit::history_bytes)]; };

  // Over by one frame: room1, posted to least recently (and empty), loses its
  // oldest message; the room itself stays, with its seq.
  say(a, "room3", "text");
  EXPECT_EQ(seqs(history(reader, "room1", 100u).messages), (std::vector<std::uint64_t>{2, 3}));
  EXPECT_EQ(hub.rooms(), 3u);
  EXPECT_EQ(dropped(), 1u);
  EXPECT_EQ(hub.history_bytes(), nine);
  say(a, "room3", "text");
  say(a, "room3", "text");
  EXPECT_TRUE(seqs(history(reader, "room1", 100u).messages).empty());
  EXPECT_EQ(hub.history_bytes(), nine);
  EXPECT_EQ(dropped(), 3u);

  // Full with rooms in use: room2, posted to least recently, loses its oldest.
  say(a, "room3", "text");
  EXPECT_EQ(seqs(history(reader, "room2", 100u).messages), (std::vector<std::uint64_t>{2, 3}));
  say(a, "room3", "text");
  say(a, "room3", "text");
  EXPECT_TRUE(seqs(history(reader, "room2", 100u).messages).empty());
  EXPECT_EQ(seqs(history(reader, "room3", 100u).messages),
            (std::vector<std::uint64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9}));
  EXPECT_EQ(hub.history_bytes(), nine);
  EXPECT_EQ(dropped(), 6u);

  // Now room3 is the one least recently posted to.
  say(a, "room2", "text");
  EXPECT_EQ(seqs(history(reader, "room2", 100u).messages), (std::vector<std::uint64_t>{4}));
  EXPECT_EQ(seqs(history(reader, "room3", 100u).messages),
            (std::vector<std::uint64_t>{2, 3, 4, 5, 6, 7, 8, 9}));
  EXPECT_EQ(hub.history_bytes(), nine);
  EXPECT_EQ(dropped(), 7u);
}

TEST_F(HubTest, WorkCountsDeliveriesAndDirectAnswers) {
  FakeParticipant& a = connect();
  FakeParticipant& b = connect();
  FakeParticipant& c = connect();
  join(a, "r");
  join(b, "r");
  join(c, "r");
  clear_all();
  auto answered = [](const FakeParticipant& p) -> std::uint64_t {
    std::uint64_t bytes = 0;
    for (const FramePtr& f : p.frames) bytes += f->size();
    return bytes;
  };
  Hub::Work before = hub.work();
  say(a, "r", "x");                                   // 3 deliveries, the sender's included
  expect_ok(hub.nick(b, protocol::Nick{"bee"}, {}));  // 2
  leave(c, "r");                                      // 2, and `left` to c
  EXPECT_EQ(hub.work().deliveries - before.deliveries, 7u);
  ASSERT_EQ(c.events_of<protocol::Left>().size(), 1u);
  EXPECT_EQ(hub.work().answer_bytes - before.answer_bytes, c.frames.back()->size())
      << "the `left`; the message and presence c got were deliveries";
  a.clear();
  before = hub.work();
  expect_ok(hub.history(a, protocol::HistoryRequest{"r", 10u}, {}));
  EXPECT_EQ(hub.work().answer_bytes - before.answer_bytes, answered(a));
  EXPECT_EQ(hub.work().deliveries, before.deliveries);
}

}  // namespace
}  // namespace loopchat
