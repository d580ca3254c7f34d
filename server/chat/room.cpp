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

std::size_t Room::broadcast(const FramePtr& frame, const Participant* except) const {
  std::size_t sent = 0;
  for (Participant* member : members_) {
    if (member == except) continue;
    member->deliver(frame);
    ++sent;
  }
  return sent;
}

void Room::remember(FramePtr message) {
  if (history_.capacity() == 0) return;
  if (history_.size() == history_.capacity()) forget_oldest();
  history_bytes_ += message->size();
  history_.push(std::move(message));
}

void Room::forget_oldest() {
  history_bytes_ -= history_.front()->size();
  history_.pop_front();
}

Room::HistorySlice Room::history(const HistoryQuery& query) const {
  HistorySlice slice;
  if (history_.empty()) return slice;
  // The seqs kept are [oldest, seq_]; the asked ones [first, last].
  std::uint64_t oldest = seq_ - history_.size() + 1;
  std::uint64_t first = oldest, last = seq_;
  if (query.since_seq) {
    if (*query.since_seq >= last) return slice;
    first = std::max(first, *query.since_seq + 1);
  }
  if (query.before_seq) {
    if (*query.before_seq <= first) return slice;
    last = std::min(last, *query.before_seq - 1);
  }
  std::size_t count = std::min<std::uint64_t>(last - first + 1, query.limit);
  bool from_oldest = query.since_seq.has_value();
  std::size_t bytes = 0;
  slice.messages.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    std::uint64_t seq = from_oldest ? first + i : last - i;
    std::string_view payload = history_[seq - oldest]->payload();
    if (bytes + payload.size() + 1 > query.max_bytes) {
      slice.truncated = true;
      break;
    }
    bytes += payload.size() + 1;
    slice.messages.push_back(payload);
  }
  if (!from_oldest) std::reverse(slice.messages.begin(), slice.messages.end());
  return slice;
}

}  // namespace loopchat
