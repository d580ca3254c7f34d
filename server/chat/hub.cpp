#include "server/chat/hub.hpp"

#include "common/codec.hpp"
#include "server/ops/log.hpp"
#include "server/wall_clock.hpp"

namespace loopchat {
namespace {

using protocol::ErrorCode;

protocol::Error failure(ErrorCode code, std::string message, const protocol::RequestId& id) {
  return protocol::Error{code, std::move(message), id};
}

}  // namespace

void Hub::send(Participant& p, const protocol::Event& event) {
  p.deliver(Frame::text(protocol::encode(event)));
}

std::string Hub::next_guest_name() {
  std::string name;
  do {
    name = "guest-" + std::to_string(++guest_counter_);
  } while (names_.contains(name));
  return name;
}

void Hub::connect(Participant& p) {
  p.name = next_guest_name();
  names_.emplace(p.name, &p);
  send(p, protocol::Welcome{p.name, "loopchat/" LOOPCHAT_VERSION " (protocol 1)"});
}

void Hub::disconnect(Participant& p) {
  while (!p.memberships.empty()) leave_room(p, *p.memberships.back().room);
  auto it = names_.find(p.name);
  if (it != names_.end() && it->second == &p) names_.erase(it);
}

Room* Hub::open_room(const std::string& name) {
  if (auto it = rooms_.find(name); it != rooms_.end()) return it->second.get();
  if (rooms_.size() >= config_.max_rooms) {
    if (empty_rooms_.empty()) return nullptr;
    Room* oldest = empty_rooms_.front();
    empty_rooms_.pop_front();
    rooms_.erase(oldest->name());
  }
  auto room = std::make_unique<Room>(name, config_.history_size);
  Room* raw = room.get();
  rooms_.emplace(name, std::move(room));
  raw->empty_position = empty_rooms_.insert(empty_rooms_.end(), raw);
  return raw;
}

// Join and leave presence costs a frame to every member: filling a room of n
// costs n²/2 deliveries. --presence-max-members turns it off for big rooms.
bool Hub::announces_presence(const Room& room) const {
  return config_.presence_max_members == 0 || room.size() <= config_.presence_max_members;
}

void Hub::leave_room(Participant& p, Room& room) {
  room.remove(p);
  if (announces_presence(room))
    room.broadcast(Frame::text(protocol::encode(
        protocol::Presence{room.name(), p.name, protocol::PresenceEvent::leave, std::nullopt})));
  if (room.empty()) room.empty_position = empty_rooms_.insert(empty_rooms_.end(), &room);
}

Hub::Outcome Hub::join(Participant& p, const protocol::Join& request,
                       const protocol::RequestId& id) {
  Room* room = p.joined(request.room);
  if (room == nullptr) {
    if (p.memberships.size() >= config_.max_rooms_per_client)
      return failure(
          ErrorCode::server_busy,
          "at most " + std::to_string(config_.max_rooms_per_client) + " rooms per connection", id);
    room = open_room(request.room);
    if (room == nullptr) {
      log::warn("room limit reached (", config_.max_rooms, "): join refused");
      return failure(ErrorCode::server_busy, "too many rooms on this server", id);
    }
    if (room->empty()) empty_rooms_.erase(room->empty_position);
    if (announces_presence(*room))
      room->broadcast(Frame::text(protocol::encode(
          protocol::Presence{room->name(), p.name, protocol::PresenceEvent::join, std::nullopt})));
    room->add(p);
  }
  send(p, protocol::Joined{room->name(), room->size(), id});
  return std::nullopt;
}

Hub::Outcome Hub::leave(Participant& p, const protocol::Leave& request,
                        const protocol::RequestId& id) {
  Room* room = p.joined(request.room);
  if (room == nullptr) return failure(ErrorCode::not_in_room, "not in room " + request.room, id);
  leave_room(p, *room);
  send(p, protocol::Left{request.room, room->size(), id});
  return std::nullopt;
}

Hub::Outcome Hub::nick(Participant& p, const protocol::Nick& request,
                       const protocol::RequestId& id) {
  if (request.name == p.name) return std::nullopt;
  if (names_.contains(request.name))
    return failure(ErrorCode::name_taken, request.name + " is taken", id);
  std::string old_name = std::move(p.name);
  names_.erase(old_name);
  p.name = request.name;
  names_.emplace(p.name, &p);
  for (const Participant::Membership& m : p.memberships)
    m.room->broadcast(Frame::text(protocol::encode(protocol::Presence{
                          m.room->name(), p.name, protocol::PresenceEvent::nick, old_name})),
                      &p);
  return std::nullopt;
}

Hub::Outcome Hub::say(Participant& p, const protocol::Say& request, const protocol::RequestId& id) {
  return post(p, request.room, request.text, id);
}

Hub::Outcome Hub::post(Participant& p, const std::string& room_name, std::string text,
                       const protocol::RequestId& id) {
  Room* room = p.joined(room_name);
  if (room == nullptr) return failure(ErrorCode::not_in_room, "join " + room_name + " first", id);
  protocol::Message message{room_name,        p.name,          std::move(text),
                            room->next_seq(), wall_clock_ms(), id};
  // Encoded and framed once; every member (the sender too) gets these bytes.
  FramePtr frame = Frame::text(protocol::encode(message));
  room->remember(frame);
  metrics_.messages_in += 1;
  metrics_.messages_out += room->broadcast(frame);
  return std::nullopt;
}

Hub::Outcome Hub::history(Participant& p, const protocol::HistoryRequest& request,
                          const protocol::RequestId& id) {
  std::size_t limit = request.limit.value_or(config_.history_default_limit);
  std::vector<std::string_view> messages;
  if (auto it = rooms_.find(request.room); it != rooms_.end()) messages = it->second->recent(limit);
  p.deliver(Frame::text(protocol::encode_history(request.room, messages, id)));
  return std::nullopt;
}

}  // namespace loopchat
