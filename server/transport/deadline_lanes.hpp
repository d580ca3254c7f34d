// Every connection's current deadline, in FIFO lanes: one lane per fixed
// duration (handshake, ping interval, pong wait, close), so an entry joins at
// its lane's tail in due order and the earliest deadline is always at a
// lane's head. Setting, moving and cancelling are O(1); one timer serves all
// connections, armed only while some entry waits, so an idle server has no
// timer pending and io_context::run() can return.
#pragma once

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include <array>
#include <chrono>
#include <cstdint>

namespace loopchat {

class DeadlineLanes {
 public:
  using Clock = std::chrono::steady_clock;
  enum Lane : std::uint8_t { handshake, ping_interval, pong_wait, close, kLaneCount, none = 0xFF };

  // Embedded in its owner (a connection); on_deadline() runs when it is due,
  // after the entry has left its lane.
  class Entry {
   public:
    Entry() = default;
    Entry(const Entry&) = delete;
    Entry& operator=(const Entry&) = delete;
    Lane lane() const { return lane_; }

   protected:
    ~Entry() = default;
    virtual void on_deadline() = 0;

   private:
    friend class DeadlineLanes;
    Entry* prev_ = nullptr;
    Entry* next_ = nullptr;
    Clock::time_point due_{};
    Lane lane_ = none;
  };

  DeadlineLanes(asio::io_context& io,
                const std::array<std::chrono::milliseconds, kLaneCount>& durations);
  DeadlineLanes(const DeadlineLanes&) = delete;
  DeadlineLanes& operator=(const DeadlineLanes&) = delete;

  // Puts `entry` at the tail of `lane`, due one lane duration from now
  // (leaving the lane it was in).
  void set(Entry& entry, Lane lane);
  void cancel(Entry& entry);
  std::size_t size() const { return size_; }

 private:
  struct List {
    Entry* head = nullptr;
    Entry* tail = nullptr;
  };
  void arm();
  void expire();

  asio::steady_timer timer_;
  std::array<std::chrono::milliseconds, kLaneCount> durations_;
  std::array<List, kLaneCount> lanes_{};
  std::size_t size_ = 0;
  Clock::time_point armed_for_ = Clock::time_point::max();
  std::uint64_t generation_ = 0;  // a wait whose generation is old does nothing
};

}  // namespace loopchat
