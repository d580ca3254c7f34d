// Unit tests of the CLI's pure parts: no sockets, no terminal.
#include <gtest/gtest.h>

#include "client/cli/backoff.hpp"
#include "client/cli/command.hpp"
#include "client/cli/line_editor.hpp"
#include "client/cli/pending_requests.hpp"
#include "client/cli/renderer.hpp"
#include "client/cli/room_tracker.hpp"

namespace loopchat::cli {
namespace {

protocol::Message msg(std::uint64_t seq, std::string text, std::int64_t ts = 0) {
  return protocol::Message{
      "r", "a", std::move(text), seq, ts ? ts : 1000 + static_cast<std::int64_t>(seq), {}};
}

std::vector<std::string> texts(const std::vector<protocol::Message>& messages) {
  std::vector<std::string> out;
  for (const auto& m : messages) out.push_back(m.text);
  return out;
}

TEST(LineEditor, EditsByCodePointAcrossSplitReads) {
  LineEditor e;
  e.feed("a\xc3");  // "aé" split in the middle of the é
  e.feed("\xa9z");
  EXPECT_EQ(e.line(), "a\xc3\xa9z");
  e.feed("\x1b[");  // Left, split too
  e.feed("D\x7f");  // then Backspace removes the whole é
  EXPECT_EQ(e.line(), "az");
  EXPECT_EQ(e.cursor_column(), 1u);
  auto r = e.feed("\x01>\x05<\r\n");  // Home, End, Enter (CR LF is one Enter)
  ASSERT_EQ(r.lines.size(), 1u);
  EXPECT_EQ(r.lines[0], ">az<");
  EXPECT_TRUE(e.line().empty());
}

TEST(LineEditor, CutsRecallsAndQuits) {
  LineEditor e;
  e.feed("one two three\x17");  // Ctrl-W
  EXPECT_EQ(e.line(), "one two ");
  e.feed("\x01\x1b[C\x0b");  // Home, Right, Ctrl-K
  EXPECT_EQ(e.line(), "o");
  e.feed("\x15");  // Ctrl-U
  EXPECT_EQ(e.line(), "");
  e.feed("first\r");
  e.feed("\x1b[A");  // Up
  EXPECT_EQ(e.line(), "first");
  e.feed("\x1b[B");  // Down
  EXPECT_EQ(e.line(), "");
  EXPECT_FALSE(e.feed("x\x04").quit);  // Ctrl-D on a non-empty line deletes
  e.feed("\x15");
  EXPECT_TRUE(e.feed("\x04").quit);
  LineEditor f;
  auto r = f.feed("abc\x03ignored");
  EXPECT_TRUE(r.quit);
  EXPECT_EQ(f.line(), "abc");
}

TEST(LineEditor, RenderScrollsLongLinesAndPlacesTheCursor) {
  LineEditor e;
  e.feed("0123456789abcdef");
  std::string row = e.render("> ", 2, 12);  // 9 columns for text
  EXPECT_EQ(row.substr(0, 4), "\r\x1b[K");
  EXPECT_NE(row.find("> 789abcdef\r"), std::string::npos) << row;
  EXPECT_NE(row.find("\x1b[11C"), std::string::npos) << row;
  e.feed("\x01");
  row = e.render("> ", 2, 12);
  EXPECT_NE(row.find("> 012345678\r\x1b[2C"), std::string::npos) << row;
}

TEST(Command, ParsesCommandsAndRejectsBadOnes) {
  EXPECT_EQ(std::get<SayCommand>(parse_command("hi there")).text, "hi there");
  EXPECT_EQ(std::get<SayCommand>(parse_command("//slash")).text, "/slash");
  EXPECT_EQ(std::get<JoinCommand>(parse_command("/join #dev")).room, "dev");
  EXPECT_FALSE(std::get<LeaveCommand>(parse_command("/leave")).room);
  EXPECT_EQ(std::get<NickCommand>(parse_command("/nick ana")).name, "ana");
  EXPECT_EQ(std::get<HistoryCommand>(parse_command("/history 5")).limit, 5u);
  auto remind = std::get<RemindCommand>(parse_command("/remind 1.5 tea is ready"));
  EXPECT_EQ(remind.after_ms, 1500);
  EXPECT_EQ(remind.text, "tea is ready");
  EXPECT_EQ(std::get<FetchCommand>(parse_command("/fetch http://x/")).url, "http://x/");
  EXPECT_TRUE(std::holds_alternative<QuitCommand>(parse_command("/quit")));
  for (const char* bad : {"/join", "/join bad room", "/join a/b", "/history x", "/remind soon x",
                          "/remind 5", "/nick", "/frobnicate"})
    EXPECT_FALSE(std::get<BadCommand>(parse_command(bad)).message.empty()) << bad;
  EXPECT_TRUE(std::get<BadCommand>(parse_command("   ")).message.empty());
}

TEST(RoomTracker, LiveMessagesShowOnce) {
  RoomTracker t;
  EXPECT_EQ(t.on_live(msg(1, "a")), RoomTracker::Live::show);
  EXPECT_EQ(t.on_live(msg(1, "a")), RoomTracker::Live::duplicate);
  EXPECT_EQ(t.on_live(msg(2, "b")), RoomTracker::Live::show);
}

TEST(RoomTracker, RefillShowsOnlyTheGapAndHeldMessagesOnce) {
  RoomTracker t;
  t.on_live(msg(1, "a"));
  t.on_live(msg(2, "b"));
  t.begin_fill();
  EXPECT_EQ(t.on_live(msg(5, "e")), RoomTracker::Live::held);  // came before the history
  auto fill = t.finish_fill({msg(1, "a"), msg(2, "b"), msg(3, "c"), msg(4, "d"), msg(5, "e")});
  EXPECT_FALSE(fill.restarted);
  EXPECT_FALSE(fill.gap);
  EXPECT_EQ(texts(fill.show), (std::vector<std::string>{"c", "d", "e"}));
  EXPECT_EQ(t.on_live(msg(6, "f")), RoomTracker::Live::show);
}

TEST(RoomTracker, DetectsARestartedServer) {
  RoomTracker shorter;  // the new history stops below what was seen
  shorter.on_live(msg(7, "old"));
  shorter.begin_fill();
  auto fill = shorter.finish_fill({msg(1, "new1", 99), msg(2, "new2", 99)});
  EXPECT_TRUE(fill.restarted);
  EXPECT_EQ(texts(fill.show), (std::vector<std::string>{"new1", "new2"}));

  RoomTracker longer;  // the new history already passed that seq, with other messages
  longer.on_live(msg(1, "old"));
  longer.begin_fill();
  fill = longer.finish_fill({msg(1, "new1", 99), msg(2, "new2", 99)});
  EXPECT_TRUE(fill.restarted);
  EXPECT_EQ(texts(fill.show), (std::vector<std::string>{"new1", "new2"}));
}

TEST(RoomTracker, ReportsAGapLongerThanHistory) {
  RoomTracker t;
  t.on_live(msg(1, "a"));
  t.begin_fill();
  auto fill = t.finish_fill({msg(5, "e"), msg(6, "f")});
  EXPECT_TRUE(fill.gap);
  EXPECT_FALSE(fill.restarted);
  EXPECT_EQ(texts(fill.show), (std::vector<std::string>{"e", "f"}));
}

TEST(PendingRequests, PongSettlesEarlierNicks) {
  PendingRequests p;
  auto nick = p.add({.kind = RequestKind::nick, .name = "x"});
  auto say = p.add({.kind = RequestKind::say, .room = "r"});
  auto ping = p.add({.kind = RequestKind::ping});
  EXPECT_TRUE(p.take(protocol::RequestId{ping}));
  auto settled = p.settle_before(ping);
  ASSERT_EQ(settled.size(), 1u);
  EXPECT_EQ(settled[0].name, "x");
  EXPECT_EQ(p.size(), 1u);  // the say waits for its own message
  EXPECT_TRUE(p.take(protocol::RequestId{say}));
  EXPECT_FALSE(p.take(protocol::RequestId{nick}));
  EXPECT_TRUE(p.empty());
}

TEST(Backoff, DoublesWithJitterUpToTheCap) {
  Backoff b(std::chrono::milliseconds(250), std::chrono::milliseconds(10'000), 42);
  std::int64_t ceiling = 250;
  for (int i = 0; i < 10; ++i) {
    auto d = b.next().count();
    EXPECT_GE(d, ceiling / 2);
    EXPECT_LE(d, ceiling);
    ceiling = std::min<std::int64_t>(ceiling * 2, 10'000);
  }
  b.reset();
  EXPECT_LE(b.next().count(), 250);
}

TEST(Renderer, PrefixesOtherRoomsAndNeutralisesControls) {
  Renderer plain(false);
  protocol::Message m{"dev", "bob", "hi\x1b[2Jthere", 1, 0, {}};
  std::string line = plain.message(m, View{"lobby", "me"});
  EXPECT_NE(line.find("[dev] <bob> hi^[[2Jthere"), std::string::npos) << line;
  EXPECT_EQ(plain.message(m, View{"dev", "me"}).find("[dev]"), std::string::npos);
  Renderer colored(true);
  std::string mine =
      colored.message(protocol::Message{"dev", "me", "x", 1, 0, {}}, View{"dev", "me"});
  std::string theirs =
      colored.message(protocol::Message{"dev", "bob", "x", 1, 0, {}}, View{"dev", "me"});
  EXPECT_NE(mine.find("\x1b[1m<me>"), std::string::npos) << mine;
  EXPECT_EQ(theirs.find("\x1b[1m"), std::string::npos) << theirs;
}

}  // namespace
}  // namespace loopchat::cli
