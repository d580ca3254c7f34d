// A chat room: its members, its message sequence and its recent history.
// A room never does I/O: broadcast() queues one shared frame to each member.
#pragma once

#include <cstdint>
#include <list>
#include <string>
#include <string_view>
#include <vector>

#include "server/chat/history_ring.hpp"
#include "server/chat/participant.hpp"
#include "server/transport/frame.hpp"

namespace loopchat {

class Room {
 public:
  Room(std::string name, std::size_t history_size)
      : name_(std::move(name)), history_(history_size) {}
  Room(const Room&) = delete;
  Room& operator=(const Room&) = delete;

  const std::string& name() const { return name_; }
  std::size_t size() const { return members_.size(); }
  bool empty() const { return members_.empty(); }

  void add(Participant& member);
  void remove(Participant& member);

  // Queues `frame` to every member but `except`. The frame is shared, not copied.
  std::size_t broadcast(const FramePtr& frame, const Participant* except = nullptr) const;

  std::uint64_t next_seq() { return ++seq_; }
  void remember(FramePtr message) { history_.push(std::move(message)); }
  // Payloads of the most recent `limit` messages, oldest first.
  std::vector<std::string_view> recent(std::size_t limit) const;

  // Where the hub keeps this room in its list of empty rooms (eviction order).
  std::list<Room*>::iterator empty_position;

 private:
  std::string name_;
  std::vector<Participant*> members_;  // non-owning; a participant leaves before it dies
  std::uint64_t seq_ = 0;
  HistoryRing<FramePtr> history_;
};

}  // namespace loopchat
