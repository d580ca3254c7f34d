#include "client/cli/room_tracker.hpp"

#include <algorithm>

namespace loopchat::cli {

RoomTracker::Live RoomTracker::on_live(const protocol::Message& m) {
  if (filling_) {
    held_.push_back(m);
    return Live::held;
  }
  if (m.seq <= last_seq_) return Live::duplicate;
  saw(m);
  return Live::show;
}

void RoomTracker::saw(const protocol::Message& m) {
  if (oldest_seq_ == 0 || m.seq < oldest_seq_) oldest_seq_ = m.seq;
  if (m.seq < last_seq_) return;
  last_seq_ = m.seq;
  last_ts_ = m.ts;
  last_from_ = m.from;
  last_text_ = m.text;
}

bool RoomTracker::is_last_seen(const protocol::Message& m) const {
  return m.seq == last_seq_ && m.ts == last_ts_ && m.from == last_from_ && m.text == last_text_;
}

RoomTracker::Ask RoomTracker::begin_fill(std::uint32_t latest) {
  abandon_fill();
  filling_ = true;
  cursor_ = last_seq_;
  checked_ = last_seq_ == 0;
  asked_ = last_seq_ > 0 ? Ask{kPageMessages, last_seq_ - 1} : Ask{latest, std::nullopt};
  return asked_;
}

void RoomTracker::abandon_fill() {
  filling_ = false;
  held_.clear();
  gathered_.clear();
  restarted_ = gap_ = false;
}

RoomTracker::Fill RoomTracker::on_fill(std::vector<protocol::Message> page, bool truncated) {
  if (!checked_) {
    checked_ = true;
    auto same_seq = std::find_if(page.begin(), page.end(),
                                 [&](const protocol::Message& m) { return m.seq == last_seq_; });
    if (same_seq != page.end()) {
      restarted_ = !is_last_seen(*same_seq);
    } else if (page.empty() || page.back().seq < last_seq_) {
      restarted_ = true;  // the server forgot what we saw: it restarted
    } else {
      gap_ = page.front().seq > last_seq_ + 1;
    }
    if (restarted_) {
      // Its numbering starts over: ask for its latest messages instead.
      cursor_ = 0;
      asked_ = Ask{kPageMessages, std::nullopt};
      return Fill{.next = asked_};
    }
  }
  for (protocol::Message& m : page) {
    if (m.seq <= cursor_) continue;
    cursor_ = m.seq;
    gathered_.push_back(std::move(m));
  }
  // A full or trimmed page may have left newer messages out; go on while the
  // pages advance (a server that ignores since_seq stops it at once).
  bool more =
      asked_.since_seq && (truncated || page.size() >= asked_.limit) && cursor_ > *asked_.since_seq;
  if (more) {
    asked_ = Ask{kPageMessages, cursor_};
    return Fill{.next = asked_};
  }
  // The most recent messages, trimmed: older ones did not fit.
  return finish(truncated && !asked_.since_seq);
}

RoomTracker::Fill RoomTracker::finish(bool older) {
  Fill fill{.restarted = restarted_, .gap = gap_, .older = older};
  if (restarted_) last_seq_ = oldest_seq_ = 0;
  for (auto* source : {&gathered_, &held_}) {
    for (protocol::Message& m : *source) {
      if (m.seq <= last_seq_) continue;
      saw(m);
      fill.show.push_back(std::move(m));
    }
  }
  abandon_fill();
  return fill;
}

}  // namespace loopchat::cli
