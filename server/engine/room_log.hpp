// What the local engine keeps of one room in memory: its seq and its recent
// history, a ring of the frames sent (the hot cache: most `history` answers
// and every gap fill after a short disconnect come from here). The ring is
// contiguous in seq and ends at last_seq(), so a seq maps to its slot.
#pragma once

#include <cstdint>
#include <list>
#include <string_view>

#include "server/chat/history_ring.hpp"
#include "server/transport/frame.hpp"

namespace loopchat {

class RoomLog {
 public:
  RoomLog(std::size_t ring_capacity, std::uint64_t last_seq)
      : seq_(last_seq), ring_(ring_capacity) {}
  RoomLog(const RoomLog&) = delete;
  RoomLog& operator=(const RoomLog&) = delete;

  std::uint64_t last_seq() const { return seq_; }
  std::uint64_t next_seq() { return ++seq_; }

  // Keeps the message of the last next_seq().
  void remember(FramePtr message) {
    if (ring_.capacity() == 0) return;
    if (ring_.size() == ring_.capacity()) forget_oldest();
    bytes_ += message->size();
    ring_.push(std::move(message));
  }
  // Drops the oldest message kept (the server-wide history budget).
  void forget_oldest() {
    bytes_ -= ring_.front()->size();
    ring_.pop_front();
  }
  bool has_history() const { return !ring_.empty(); }
  std::size_t count() const { return ring_.size(); }
  std::size_t bytes() const { return bytes_; }

  // The oldest seq in memory; last_seq() + 1 when the ring is empty.
  std::uint64_t oldest_in_memory() const { return seq_ - ring_.size() + 1; }
  // The payload of a seq in [oldest_in_memory(), last_seq()].
  std::string_view payload(std::uint64_t seq) const {
    return ring_[seq - oldest_in_memory()]->payload();
  }

  std::int64_t store_id = 0;  // the room's row in the database; 0: not stored (yet)
  // Where the engine keeps this room, while it has history, in its list by
  // last message (trimming order).
  std::list<RoomLog*>::iterator history_position;

 private:
  std::uint64_t seq_;
  HistoryRing<FramePtr> ring_;
  std::size_t bytes_ = 0;
};

}  // namespace loopchat
