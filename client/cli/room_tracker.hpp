// What the client has shown of one room, so that each message is printed
// once: live messages in seq order, and, after a (re)join, the gap filled
// from the room's history. Pure logic, no I/O.
//
// Rule: between sending a join and receiving the history asked for right
// after it, live messages of the room are held back; the history answer and
// the held messages are then merged and everything up to the last seq
// already shown is dropped.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/protocol.hpp"

namespace loopchat::cli {

class RoomTracker {
 public:
  enum class Live { show, held, duplicate };
  // A live `message` of this room: show it, or it is held/dropped.
  Live on_live(const protocol::Message& m);

  // A join (or rejoin) was sent and a history request follows it.
  void begin_fill() { filling_ = true; }
  bool filling() const { return filling_; }
  // The connection dropped before the history came: forget what was held
  // (the refill after the reconnect brings it back).
  void abandon_fill() {
    filling_ = false;
    held_.clear();
  }

  struct Fill {
    std::vector<protocol::Message> show;  // oldest first, each once
    bool restarted = false;               // the server's history does not continue what was seen
    bool gap = false;                     // more was missed than the history holds
  };
  // The history answer (oldest first): what to show of it and of what was held.
  Fill finish_fill(std::vector<protocol::Message> history);

  // Messages shown by other means (a /history answer) still count as seen.
  void saw(const protocol::Message& m);
  std::uint64_t last_seq() const { return last_seq_; }

 private:
  bool is_last_seen(const protocol::Message& m) const;

  bool filling_ = false;
  std::vector<protocol::Message> held_;
  std::uint64_t last_seq_ = 0;  // 0: nothing seen yet
  // The last message seen, to recognise a restarted server whose new history
  // has reached the same seq.
  std::int64_t last_ts_ = 0;
  std::string last_from_, last_text_;
};

}  // namespace loopchat::cli
