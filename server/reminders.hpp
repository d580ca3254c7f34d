// A connection's pending `remind` timers. Each is a coroutine asleep on its
// own steady_timer (Asio keeps timers in a heap: O(log n) to add, fire or
// cancel). They die with their connection: cancel_all() wakes every one with
// operation_aborted, and a woken reminder touches nothing but its own frame.
#pragma once

#include <asio.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_set>

namespace loopchat {

class Reminders {
 public:
  // Called when a reminder fires, with how late the loop fired it.
  using Fire = std::function<void(std::chrono::milliseconds late)>;

  Reminders(asio::any_io_executor executor, std::size_t max_pending)
      : executor_(std::move(executor)), max_pending_(max_pending) {}
  ~Reminders() { cancel_all(); }
  Reminders(const Reminders&) = delete;
  Reminders& operator=(const Reminders&) = delete;

  // False when max_pending reminders are already waiting.
  bool schedule(std::chrono::milliseconds after, Fire fire);
  void cancel_all();
  std::size_t pending() const { return timers_.size(); }

  // Reminders pending in the whole process (for /metrics).
  static std::uint64_t pending_total() { return pending_total_; }

 private:
  asio::awaitable<void> wait(std::shared_ptr<asio::steady_timer> timer,
                             std::chrono::steady_clock::time_point due, Fire fire,
                             std::shared_ptr<bool> alive);

  asio::any_io_executor executor_;
  std::size_t max_pending_;
  std::unordered_set<asio::steady_timer*> timers_;  // owned by the waiting coroutines
  // Shared with the waiting coroutines; false once they are cancelled, so a
  // timer that expired just before cancel_all() cannot fire after it.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  static inline std::uint64_t pending_total_ = 0;
};

}  // namespace loopchat
