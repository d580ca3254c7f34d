// A chat room as this process sees it: its local members. Its order and
// history live in the engine (server/engine/engine.hpp). A room never does
// I/O: broadcast() queues one shared frame to each member.
#pragma once

#include <cstdint>
#include <list>
#include <string>
#include <string_view>
#include <vector>

#include "server/chat/participant.hpp"
#include "server/transport/frame.hpp"

namespace loopchat {

class Room {
 public:
  explicit Room(std::string name) : name_(std::move(name)) {}
  Room(const Room&) = delete;
  Room& operator=(const Room&) = delete;

  const std::string& name() const { return name_; }
  std::size_t size() const { return members_.size(); }
  bool empty() const { return members_.empty(); }

  void add(Participant& member);
  void remove(Participant& member);

  const std::vector<Participant*>& members() const { return members_; }
  // The member of that name, or nullptr (a linear search, as a broadcast).
  const Participant* member_named(std::string_view name) const;

  // Queues `frame` to every member but `except`. The frame is shared, not copied.
  std::size_t broadcast(const FramePtr& frame, const Participant* except = nullptr) const;

  // Where the hub keeps this room in its list of empty rooms (eviction order).
  std::list<Room*>::iterator empty_position;

 private:
  std::string name_;
  std::vector<Participant*> members_;  // non-owning; a participant leaves before it dies
};

}  // namespace loopchat
