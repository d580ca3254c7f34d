#include "server/chat/reminder_queue.hpp"

#include <asio/experimental/as_tuple.hpp>

#include <algorithm>

#include "server/ops/log.hpp"

namespace loopchat {

ReminderQueue::ReminderQueue(asio::io_context& io, std::size_t max_per_owner, Fire fire)
    : timer_(io, Clock::time_point::max()), max_per_owner_(max_per_owner), fire_(std::move(fire)) {}

void ReminderQueue::start() {
  asio::co_spawn(timer_.get_executor(), run(), log_failure("reminder queue"));
}

void ReminderQueue::stop() {
  stopped_ = true;
  timer_.cancel();
}

std::size_t ReminderQueue::pending(Participant& owner) const {
  auto it = by_owner_.find(&owner);
  return it == by_owner_.end() ? 0 : it->second.size();
}

bool ReminderQueue::schedule(Participant& owner, std::chrono::milliseconds after, std::string text,
                             protocol::RequestId id) {
  std::vector<Queue::iterator>& mine = by_owner_[&owner];
  if (mine.size() >= max_per_owner_) {
    if (mine.empty()) by_owner_.erase(&owner);
    return false;
  }
  auto due = Clock::now() + after;
  held_bytes_ += held_bytes(text);
  bool earliest = queue_.empty() || due < queue_.begin()->first;
  mine.push_back(queue_.emplace(due, Entry{&owner, std::move(text), std::move(id)}));
  if (earliest) rearm();
  return true;
}

void ReminderQueue::cancel_all(Participant& owner) {
  auto it = by_owner_.find(&owner);
  if (it == by_owner_.end()) return;
  for (Queue::iterator entry : it->second) {
    held_bytes_ -= held_bytes(entry->second.text);
    queue_.erase(entry);
  }
  by_owner_.erase(it);
  // The timer may now wake early for nothing: run() just sleeps again.
}

// Moving the deadline cancels the pending wait: run() wakes and re-reads it.
void ReminderQueue::rearm() {
  timer_.expires_at(queue_.begin()->first);
}

asio::awaitable<void> ReminderQueue::run() {
  while (!stopped_) {
    timer_.expires_at(queue_.empty() ? Clock::time_point::max() : queue_.begin()->first);
    co_await timer_.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
    std::size_t fired = 0;
    while (!stopped_ && !queue_.empty() && queue_.begin()->first <= Clock::now()) {
      if (++fired % kFireBatch == 0)
        co_await asio::post(timer_.get_executor(), asio::use_awaitable);
      if (queue_.empty() || queue_.begin()->first > Clock::now()) break;
      auto head = queue_.begin();
      auto late = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - head->first);
      held_bytes_ -= held_bytes(head->second.text);
      Entry entry = std::move(head->second);
      std::vector<Queue::iterator>& mine = by_owner_[entry.owner];
      mine.erase(std::find(mine.begin(), mine.end(), head));
      if (mine.empty()) by_owner_.erase(entry.owner);
      queue_.erase(head);
      fire_(*entry.owner, entry.text, entry.id, late);
    }
  }
}

}  // namespace loopchat
