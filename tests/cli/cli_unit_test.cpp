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
  EXPECT_EQ(std::get<MoreCommand>(parse_command("/more 20")).limit, 20u);
  EXPECT_FALSE(std::get<MoreCommand>(parse_command("/more")).limit);
  auto remind = std::get<RemindCommand>(parse_command("/remind 1.5 tea is ready"));
  EXPECT_EQ(remind.after_ms, 1500);
  EXPECT_EQ(remind.text, "tea is ready");
  EXPECT_EQ(std::get<FetchCommand>(parse_command("/fetch http://x/")).url, "http://x/");
  EXPECT_TRUE(std::holds_alternative<QuitCommand>(parse_command("/quit")));
  EXPECT_FALSE(std::get<WhoCommand>(parse_command("/who")).room);
  EXPECT_EQ(std::get<WhoCommand>(parse_command("/who #dev")).room, "dev");
  for (const char* bad :
       {"/join", "/join bad room", "/join a/b", "/history x", "/more 0", "/more 1 2",
        "/remind soon x", "/remind 5", "/nick", "/frobnicate", "/who a b", "/who a/b"})
    EXPECT_FALSE(std::get<BadCommand>(parse_command(bad)).message.empty()) << bad;
  EXPECT_TRUE(std::get<BadCommand>(parse_command("   ")).message.empty());
  EXPECT_NE(help_text().find("/more"), std::string_view::npos);
}

TEST(RoomTracker, LiveMessagesShowOnce) {
  RoomTracker t;
  EXPECT_EQ(t.on_live(msg(1, "a")), RoomTracker::Live::show);
  EXPECT_EQ(t.on_live(msg(1, "a")), RoomTracker::Live::duplicate);
  EXPECT_EQ(t.on_live(msg(2, "b")), RoomTracker::Live::show);
}

std::vector<protocol::Message> range(std::uint64_t first, std::uint64_t last) {
  std::vector<protocol::Message> out;
  for (std::uint64_t seq = first; seq <= last; ++seq) out.push_back(msg(seq, std::to_string(seq)));
  return out;
}

std::vector<std::string> range_texts(std::uint64_t first, std::uint64_t last) {
  return texts(range(first, last));
}

TEST(RoomTracker, FirstJoinAsksForTheLatestMessages) {
  RoomTracker t;
  RoomTracker::Ask ask = t.begin_fill(10);
  EXPECT_EQ(ask.limit, 10u);
  EXPECT_FALSE(ask.since_seq);
  auto fill = t.on_fill(range(5, 14), false);
  EXPECT_FALSE(fill.next);
  EXPECT_FALSE(fill.older);
  EXPECT_EQ(texts(fill.show), range_texts(5, 14));
  EXPECT_EQ(t.oldest_seq(), 5u);
  EXPECT_EQ(t.last_seq(), 14u);
}

TEST(RoomTracker, ATrimmedLatestAnswerMeansOlderMessages) {
  RoomTracker t;
  t.begin_fill(10);
  auto fill = t.on_fill(range(12, 14), true);
  EXPECT_FALSE(fill.next);
  EXPECT_TRUE(fill.older);
  EXPECT_EQ(texts(fill.show), range_texts(12, 14));
}

TEST(RoomTracker, RefillAsksSinceTheLastSeenAndShowsTheGapAndHeldMessagesOnce) {
  RoomTracker t;
  t.on_live(msg(1, "a"));
  t.on_live(msg(2, "b"));
  RoomTracker::Ask ask = t.begin_fill(10);
  EXPECT_EQ(ask.since_seq, 1u);  // one below the last seen: it comes back as a check
  EXPECT_EQ(ask.limit, RoomTracker::kPageMessages);
  EXPECT_EQ(t.on_live(msg(5, "e")), RoomTracker::Live::held);  // came before the history
  auto fill = t.on_fill({msg(2, "b"), msg(3, "c"), msg(4, "d"), msg(5, "e")}, false);
  EXPECT_FALSE(fill.next);
  EXPECT_FALSE(fill.restarted);
  EXPECT_FALSE(fill.gap);
  EXPECT_EQ(texts(fill.show), (std::vector<std::string>{"c", "d", "e"}));
  EXPECT_EQ(t.on_live(msg(6, "f")), RoomTracker::Live::show);
}

TEST(RoomTracker, TruncatedPagesAreFollowedSinceTheLastSeqOfEach) {
  RoomTracker t;
  t.on_live(msg(10, "10"));
  EXPECT_EQ(t.begin_fill(10).since_seq, 9u);
  EXPECT_EQ(t.on_live(msg(40, "40")), RoomTracker::Live::held);
  // The server trims each answer to its byte budget, newest left out.
  auto fill = t.on_fill(range(10, 20), true);
  ASSERT_TRUE(fill.next);
  EXPECT_EQ(fill.next->since_seq, 20u);
  EXPECT_TRUE(fill.show.empty());  // nothing shown before the fill is complete
  EXPECT_EQ(t.on_live(msg(41, "41")), RoomTracker::Live::held);
  fill = t.on_fill(range(21, 30), true);
  ASSERT_TRUE(fill.next);
  EXPECT_EQ(fill.next->since_seq, 30u);
  fill = t.on_fill(range(31, 40), false);
  EXPECT_FALSE(fill.next);
  EXPECT_FALSE(fill.gap);
  EXPECT_FALSE(fill.older);
  EXPECT_EQ(texts(fill.show), range_texts(11, 41));  // 40 both paged and held: once
  EXPECT_EQ(t.last_seq(), 41u);
  EXPECT_FALSE(t.filling());
}

TEST(RoomTracker, FullPagesAreFollowedToo) {
  RoomTracker t;
  t.on_live(msg(1, "1"));
  t.begin_fill(10);
  auto fill = t.on_fill(range(1, RoomTracker::kPageMessages), false);  // as many as asked
  ASSERT_TRUE(fill.next);
  EXPECT_EQ(fill.next->since_seq, std::uint64_t(RoomTracker::kPageMessages));
  fill = t.on_fill(range(RoomTracker::kPageMessages + 1, 150), false);
  EXPECT_FALSE(fill.next);
  EXPECT_EQ(texts(fill.show), range_texts(2, 150));
}

TEST(RoomTracker, PagingStopsWhenAPageBringsNothingNew) {
  // A server that ignores since_seq answers the same latest messages again.
  RoomTracker t;
  t.on_live(msg(150, "150"));
  t.begin_fill(10);
  auto fill = t.on_fill(range(101, 200), false);
  ASSERT_TRUE(fill.next);
  fill = t.on_fill(range(101, 200), false);
  EXPECT_FALSE(fill.next);
  EXPECT_EQ(texts(fill.show), range_texts(151, 200));
  // A trimmed page that brings nothing ends it as well.
  RoomTracker u;
  u.on_live(msg(5, "5"));
  u.begin_fill(10);
  fill = u.on_fill({msg(5, "5")}, true);  // only the check fitted
  ASSERT_TRUE(fill.next);
  EXPECT_EQ(fill.next->since_seq, 5u);
  fill = u.on_fill({}, true);
  EXPECT_FALSE(fill.next);
  EXPECT_TRUE(fill.show.empty());
  EXPECT_FALSE(u.filling());
}

TEST(RoomTracker, DetectsARestartedServerAndAsksForItsLatest) {
  RoomTracker shorter;  // the new history stops below what was seen
  shorter.on_live(msg(7, "old"));
  shorter.begin_fill(10);
  auto fill = shorter.on_fill({}, false);
  ASSERT_TRUE(fill.next);
  EXPECT_FALSE(fill.next->since_seq);
  EXPECT_EQ(fill.next->limit, RoomTracker::kPageMessages);
  fill = shorter.on_fill({msg(1, "new1", 99), msg(2, "new2", 99)}, false);
  EXPECT_TRUE(fill.restarted);
  EXPECT_EQ(texts(fill.show), (std::vector<std::string>{"new1", "new2"}));
  EXPECT_EQ(shorter.last_seq(), 2u);

  RoomTracker longer;  // the new history already passed that seq, with other messages
  longer.on_live(msg(1, "old"));
  longer.begin_fill(10);
  fill = longer.on_fill({msg(1, "new1", 99), msg(2, "new2", 99)}, false);
  ASSERT_TRUE(fill.next);
  EXPECT_FALSE(fill.next->since_seq);
  fill = longer.on_fill({msg(1, "new1", 99), msg(2, "new2", 99), msg(3, "new3", 99)}, false);
  EXPECT_TRUE(fill.restarted);
  EXPECT_EQ(texts(fill.show), (std::vector<std::string>{"new1", "new2", "new3"}));
}

TEST(RoomTracker, ReportsAGapLongerThanHistory) {
  RoomTracker t;
  t.on_live(msg(1, "a"));
  t.begin_fill(10);
  auto fill = t.on_fill({msg(5, "e"), msg(6, "f")}, false);
  EXPECT_TRUE(fill.gap);
  EXPECT_FALSE(fill.restarted);
  EXPECT_EQ(texts(fill.show), (std::vector<std::string>{"e", "f"}));
}

TEST(RoomTracker, AnAbandonedFillForgetsWhatItGathered) {
  RoomTracker t;
  t.on_live(msg(3, "3"));
  t.begin_fill(10);
  t.on_live(msg(30, "30"));
  ASSERT_TRUE(t.on_fill(range(3, 12), true).next);
  t.abandon_fill();  // the connection dropped mid-fill
  EXPECT_FALSE(t.filling());
  EXPECT_EQ(t.last_seq(), 3u);  // nothing gathered counts as shown
  EXPECT_EQ(t.begin_fill(10).since_seq, 2u);
  auto fill = t.on_fill(range(3, 30), false);
  EXPECT_EQ(texts(fill.show), range_texts(4, 30));
}

TEST(RoomTracker, ACutShortFillShowsWhatItHas) {
  RoomTracker t;
  t.on_live(msg(3, "3"));
  t.begin_fill(10);
  EXPECT_EQ(t.on_live(msg(9, "9")), RoomTracker::Live::held);
  ASSERT_TRUE(t.on_fill(range(3, 5), true).next);
  auto fill = t.cut_short();  // the next page was refused (rate_limited, say)
  EXPECT_EQ(texts(fill.show), (std::vector<std::string>{"4", "5", "9"}));
  EXPECT_FALSE(t.filling());
  EXPECT_EQ(t.on_live(msg(10, "10")), RoomTracker::Live::show);
}

TEST(RoomTracker, OldestSeenIsWhereMorePagesBackFrom) {
  RoomTracker t;
  EXPECT_EQ(t.oldest_seq(), 0u);
  t.on_live(msg(50, "50"));
  EXPECT_EQ(t.oldest_seq(), 50u);
  t.saw(msg(20, "20"));  // a /more answer
  EXPECT_EQ(t.oldest_seq(), 20u);
  EXPECT_EQ(t.last_seq(), 50u);
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
