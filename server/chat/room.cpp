#include "server/chat/room.hpp"

#include <algorithm>

namespace loopchat {

Room* Participant::joined(const std::string& room) const {
  for (const Membership& m : memberships)
    if (m.room->name() == room) return m.room;
  return nullptr;
}

void Room::add(Participant& member) {
  member.memberships.push_back({this, members_.size()});
  members_.push_back(&member);
}

void Room::remove(Participant& member) {
  auto mine = std::find_if(member.memberships.begin(), member.memberships.end(),
                           [this](const Participant::Membership& m) { return m.room == this; });
  if (mine == member.memberships.end()) return;
  std::size_t slot = mine->slot;
  member.memberships.erase(mine);
  // Swap the last member into the freed slot and tell it where it now is.
  Participant* moved = members_.back();
  members_[slot] = moved;
  members_.pop_back();
  if (moved != &member)
    for (Participant::Membership& m : moved->memberships)
      if (m.room == this) m.slot = slot;
}

const Participant* Room::member_named(std::string_view name) const {
  for (const Participant* member : members_)
    if (member->name == name) return member;
  return nullptr;
}

std::size_t Room::broadcast(const FramePtr& frame, const Participant* except) const {
  std::size_t sent = 0;
  for (Participant* member : members_) {
    if (member == except) continue;
    member->deliver(frame);
    ++sent;
  }
  return sent;
}

}  // namespace loopchat
