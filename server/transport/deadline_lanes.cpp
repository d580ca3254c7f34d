#include "server/transport/deadline_lanes.hpp"

namespace loopchat {

DeadlineLanes::DeadlineLanes(asio::io_context& io,
                             const std::array<std::chrono::milliseconds, kLaneCount>& durations)
    : timer_(io), durations_(durations) {}

void DeadlineLanes::set(Entry& entry, Lane lane) {
  cancel(entry);
  List& list = lanes_[lane];
  entry.lane_ = lane;
  entry.due_ = Clock::now() + durations_[lane];
  entry.prev_ = list.tail;
  entry.next_ = nullptr;
  (list.tail ? list.tail->next_ : list.head) = &entry;
  list.tail = &entry;
  ++size_;
  if (entry.due_ < armed_for_) arm();
}

void DeadlineLanes::cancel(Entry& entry) {
  if (entry.lane_ == none) return;
  List& list = lanes_[entry.lane_];
  (entry.prev_ ? entry.prev_->next_ : list.head) = entry.next_;
  (entry.next_ ? entry.next_->prev_ : list.tail) = entry.prev_;
  entry.prev_ = entry.next_ = nullptr;
  entry.lane_ = none;
  if (--size_ == 0 && armed_for_ != Clock::time_point::max()) {
    // Nothing waits: no timer may keep the loop alive.
    armed_for_ = Clock::time_point::max();
    ++generation_;
    timer_.cancel();
  }
}

void DeadlineLanes::arm() {
  Clock::time_point earliest = Clock::time_point::max();
  for (const List& list : lanes_)
    if (list.head && list.head->due_ < earliest) earliest = list.head->due_;
  armed_for_ = earliest;
  if (earliest == Clock::time_point::max()) return;
  timer_.expires_at(earliest);  // cancels the wait before, whose generation is now old
  timer_.async_wait([this, generation = ++generation_](std::error_code ec) {
    if (!ec && generation == generation_) expire();
  });
}

void DeadlineLanes::expire() {
  armed_for_ = Clock::time_point::max();
  Clock::time_point now = Clock::now();
  for (List& list : lanes_) {
    while (list.head && list.head->due_ <= now) {
      Entry& due = *list.head;
      cancel(due);
      due.on_deadline();  // may set a deadline again, in any lane
    }
  }
  arm();
}

}  // namespace loopchat
