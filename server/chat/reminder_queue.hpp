// Every pending `remind` of the server, in one queue ordered by due time and
// driven by one coroutine asleep on one steady_timer set to the earliest due
// time. Scheduling and cancelling cost O(log n) (a balanced tree), a pending
// reminder about 150 bytes, whatever the count; reminders that come due
// together fire in one wake-up, so their frames leave in gathered writes.
// They die with their connection: cancel_all() removes them at once.
#pragma once

#include <asio.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/protocol.hpp"
#include "server/chat/participant.hpp"

namespace loopchat {

class ReminderQueue {
 public:
  using Clock = std::chrono::steady_clock;
  // Runs when a reminder comes due, with how late the loop got to it.
  using Fire = std::function<void(Participant& owner, const std::string& text,
                                  const protocol::RequestId& id, std::chrono::milliseconds late)>;

  ReminderQueue(asio::io_context& io, std::size_t max_per_owner, Fire fire);
  ReminderQueue(const ReminderQueue&) = delete;
  ReminderQueue& operator=(const ReminderQueue&) = delete;

  void start();
  void stop();

  // False when `owner` already has max_per_owner reminders pending.
  bool schedule(Participant& owner, std::chrono::milliseconds after, std::string text,
                protocol::RequestId id);
  // The owner is going away: its reminders are removed, none fires.
  void cancel_all(Participant& owner);

  std::size_t pending() const { return queue_.size(); }
  std::size_t pending(Participant& owner) const;
  // Memory the pending reminders hold (bounded by --max-reminder-bytes).
  std::size_t held_bytes() const { return held_bytes_; }
  // What one reminder holds: its text and its entries in the queue and the
  // owner's index.
  static std::size_t held_bytes(const std::string& text) {
    return text.size() + sizeof(Queue::value_type) + 6 * sizeof(void*);
  }

 private:
  struct Entry {
    Participant* owner;
    std::string text;
    protocol::RequestId id;
  };
  using Queue = std::multimap<Clock::time_point, Entry>;
  // Reminders that come due in one wake-up fire in batches of this size,
  // with the loop's other work let through between batches.
  static constexpr std::size_t kFireBatch = 1024;

  asio::awaitable<void> run();
  void rearm();

  asio::steady_timer timer_;
  std::size_t max_per_owner_;
  Fire fire_;
  Queue queue_;
  std::unordered_map<Participant*, std::vector<Queue::iterator>> by_owner_;
  std::size_t held_bytes_ = 0;
  bool stopped_ = false;
};

}  // namespace loopchat
