// What the client has shown of one room, so that each message is printed
// once: live messages in seq order, and, after a (re)join, the gap filled
// from the room's history, page by page. Pure logic, no I/O.
//
// Rule: between sending a join and the last history page of its fill, live
// messages of the room are held back; the pages and the held messages are
// then merged and everything up to the last seq already shown is dropped.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/protocol.hpp"

namespace loopchat::cli {

class RoomTracker {
 public:
  // Messages asked for per page when filling a gap.
  static constexpr std::uint32_t kPageMessages = 100;

  enum class Live { show, held, duplicate };
  // A live `message` of this room: show it, or it is held/dropped.
  Live on_live(const protocol::Message& m);

  // One history request of a fill: the `limit` most recent messages, or with
  // `since_seq` the oldest `limit` after it.
  struct Ask {
    std::uint32_t limit = kPageMessages;
    std::optional<std::uint64_t> since_seq = std::nullopt;
  };
  // A join (or rejoin) was sent; the history asked for next fills the gap.
  // When a message was seen, the first page starts one below it, so that the
  // last message seen comes back and tells a continued history from a
  // restarted server. When none was, it is the `latest` most recent messages.
  Ask begin_fill(std::uint32_t latest);
  bool filling() const { return filling_; }
  // The connection dropped before the fill ended: forget what was held and
  // gathered (the refill after the reconnect brings it back).
  void abandon_fill();

  struct Fill {
    std::optional<Ask> next = std::nullopt;    // not done: ask this, and hand its answer here
    std::vector<protocol::Message> show = {};  // done: oldest first, each once
    bool restarted = false;  // the server's history does not continue what was seen
    bool gap = false;        // more was missed than the history holds
    bool older = false;      // the room has messages older than those shown (/more)
  };
  // A history answer to the last Ask (oldest first; `truncated` as the server
  // said): the next page to ask for, or at the end what to show.
  Fill on_fill(std::vector<protocol::Message> page, bool truncated);
  // The last Ask was refused: the fill ends with what it has.
  Fill cut_short() { return finish(false); }

  // Messages shown by other means (a /history answer) still count as seen.
  void saw(const protocol::Message& m);
  std::uint64_t last_seq() const { return last_seq_; }
  // The oldest seq seen (0: none): /more asks for what came before it.
  std::uint64_t oldest_seq() const { return oldest_seq_; }

 private:
  bool is_last_seen(const protocol::Message& m) const;
  Fill finish(bool older);

  bool filling_ = false;
  std::vector<protocol::Message> held_;
  // The fill in progress: the pages' messages above the last seq seen, the
  // highest seq among them, the request last sent, whether its first page
  // was checked against the last message seen, and what that showed.
  std::vector<protocol::Message> gathered_;
  std::uint64_t cursor_ = 0;
  Ask asked_;
  bool checked_ = true;
  bool restarted_ = false;
  bool gap_ = false;

  std::uint64_t last_seq_ = 0;  // 0: nothing seen yet
  std::uint64_t oldest_seq_ = 0;
  // The last message seen, to recognise a restarted server whose new history
  // has reached the same seq.
  std::int64_t last_ts_ = 0;
  std::string last_from_, last_text_;
};

}  // namespace loopchat::cli
