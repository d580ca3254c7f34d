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
  if (m.seq < last_seq_) return;
  last_seq_ = m.seq;
  last_ts_ = m.ts;
  last_from_ = m.from;
  last_text_ = m.text;
}

bool RoomTracker::is_last_seen(const protocol::Message& m) const {
  return m.seq == last_seq_ && m.ts == last_ts_ && m.from == last_from_ && m.text == last_text_;
}

RoomTracker::Fill RoomTracker::finish_fill(std::vector<protocol::Message> history) {
  Fill fill;
  filling_ = false;
  if (last_seq_ > 0) {
    auto same_seq = std::find_if(history.begin(), history.end(),
                                 [&](const protocol::Message& m) { return m.seq == last_seq_; });
    if (same_seq != history.end()) {
      fill.restarted = !is_last_seen(*same_seq);
    } else if (history.empty() || history.back().seq < last_seq_) {
      fill.restarted = true;  // the server forgot what we saw: it restarted
    } else {
      fill.gap = history.front().seq > last_seq_ + 1;
    }
    if (fill.restarted) last_seq_ = 0;
  }
  for (auto* source : {&history, &held_}) {
    for (protocol::Message& m : *source) {
      if (m.seq <= last_seq_) continue;
      saw(m);
      fill.show.push_back(std::move(m));
    }
  }
  held_.clear();
  return fill;
}

}  // namespace loopchat::cli
