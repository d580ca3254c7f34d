#include "server/chat/hub.hpp"

#include <algorithm>

#include "common/codec.hpp"
#include "server/ops/log.hpp"
#include "server/wall_clock.hpp"

namespace loopchat {
namespace {

using protocol::ErrorCode;

// A websocketpp frame header is at most 10 bytes for a server frame.
constexpr std::size_t kFrameHeaderBytes = 10;
constexpr std::size_t kWhoDefaultLimit = 100;  // names in a `who` answer without a limit

protocol::Error failure(ErrorCode code, std::string message, const protocol::RequestId& id) {
  return protocol::Error{code, std::move(message), id};
}

}  // namespace

void Hub::send(Participant& p, const protocol::Event& event) {
  FramePtr frame = Frame::text(protocol::encode(event));
  work_.answer_bytes += frame->size();
  p.deliver(frame);
}

std::string Hub::next_guest_name() {
  std::string name;
  do {
    name = engine_.guest_name_prefix() + std::to_string(++guest_counter_);
  } while (names_.contains(name));
  return name;
}

void Hub::connect(Participant& p) {
  if (p.grant) {
    p.name = p.grant->name;  // the token's user: several connections may share it
  } else {
    p.name = next_guest_name();
    names_.emplace(p.name, &p);
  }
  send(p, protocol::Welcome{p.name, "loopchat/" LOOPCHAT_VERSION " (protocol 1)"});
}

void Hub::disconnect(Participant& p) {
  while (!p.memberships.empty()) leave_room(p, *p.memberships.back().room, nullptr);
  engine_.forget(p);
  auto it = names_.find(p.name);
  if (it != names_.end() && it->second == &p) names_.erase(it);
}

Room* Hub::open_room(const std::string& name) {
  if (auto it = rooms_.find(name); it != rooms_.end()) return it->second.get();
  if (rooms_.size() >= config_.max_rooms) {
    if (empty_rooms_.empty()) return nullptr;
    evict(*empty_rooms_.front());
  }
  auto room = std::make_unique<Room>(name);
  Room* raw = room.get();
  rooms_.emplace(name, std::move(room));
  raw->empty_position = empty_rooms_.insert(empty_rooms_.end(), raw);
  return raw;
}

void Hub::evict(Room& room) {
  engine_.close_room(room.name());
  empty_rooms_.erase(room.empty_position);
  rooms_.erase(rooms_.find(room.name()));
}

void Hub::announce(Room& room, const protocol::Presence& presence, const Participant* except) {
  work_.deliveries += engine_.broadcast(room, Frame::text(protocol::encode(presence)), except);
}

void Hub::leave_room(Participant& p, Room& room, Engine::RoomAnswer answer) {
  room.remove(p);
  work_.deliveries += engine_.member_left(room, p, std::move(answer));
  if (room.empty()) room.empty_position = empty_rooms_.insert(empty_rooms_.end(), &room);
}

Hub::Outcome Hub::outside_grant(const Participant& p, const std::string& room,
                                const protocol::RequestId& id) const {
  if (!p.grant || p.grant->allows(room)) return std::nullopt;
  return failure(ErrorCode::forbidden, "your token does not let you into " + room, id);
}

Hub::Outcome Hub::join(Participant& p, const protocol::Join& request,
                       const protocol::RequestId& id) {
  if (Outcome refused = outside_grant(p, request.room, id)) return refused;
  auto answer = [this, &p, id](const std::string& room, const Engine::RoomView& view) {
    send(p, protocol::Joined{room, view.members, id, view.epoch});
  };
  if (Room* room = p.joined(request.room)) {
    answer(room->name(), engine_.view(*room));
    return std::nullopt;
  }
  if (p.memberships.size() >= config_.max_rooms_per_client)
    return failure(
        ErrorCode::server_busy,
        "at most " + std::to_string(config_.max_rooms_per_client) + " rooms per connection", id);
  Room* room = open_room(request.room);
  if (room == nullptr) {
    log::warn("room limit reached (", config_.max_rooms, "): join refused");
    return failure(ErrorCode::server_busy, "too many rooms on this server", id);
  }
  if (room->empty()) empty_rooms_.erase(room->empty_position);
  room->add(p);
  work_.deliveries += engine_.member_joined(
      *room, p,
      [answer, name = room->name()](const Engine::RoomView& view) { answer(name, view); });
  return std::nullopt;
}

Hub::Outcome Hub::leave(Participant& p, const protocol::Leave& request,
                        const protocol::RequestId& id) {
  Room* room = p.joined(request.room);
  if (room == nullptr) return failure(ErrorCode::not_in_room, "not in room " + request.room, id);
  leave_room(p, *room, [this, &p, name = request.room, id](const Engine::RoomView& view) {
    send(p, protocol::Left{name, view.members, id});
  });
  return std::nullopt;
}

Hub::Outcome Hub::nick(Participant& p, const protocol::Nick& request,
                       const protocol::RequestId& id) {
  if (p.grant) return failure(ErrorCode::forbidden, "your name is your token's: " + p.name, id);
  if (request.name == p.name) return std::nullopt;
  if (names_.contains(request.name))
    return failure(ErrorCode::name_taken, request.name + " is taken", id);
  engine_.claim_name(p, request.name, id,
                     [this, &p, name = request.name](std::optional<protocol::Error> refused) {
                       if (!refused) return rename(p, name);
                       // Answered by the engine, maybe later: counted here, as the
                       // request handler counts the errors it answers.
                       metrics_.count_error(refused->code);
                       send(p, *refused);
                     });
  return std::nullopt;
}

void Hub::rename(Participant& p, const std::string& name) {
  std::string old_name = std::move(p.name);
  names_.erase(old_name);
  p.name = name;
  names_.emplace(p.name, &p);
  for (const Participant::Membership& m : p.memberships)
    announce(*m.room, {m.room->name(), p.name, protocol::PresenceEvent::nick, old_name}, &p);
}

Hub::Outcome Hub::say(Participant& p, const protocol::Say& request, const protocol::RequestId& id) {
  return post(p, request.room, request.text, id);
}

Hub::Outcome Hub::post(Participant& p, const std::string& room_name, std::string text,
                       const protocol::RequestId& id) {
  Room* room = p.joined(room_name);
  if (room == nullptr) return failure(ErrorCode::not_in_room, "join " + room_name + " first", id);
  Engine::Published published = engine_.publish(
      *room, protocol::Message{room_name, p.name, std::move(text), 0, wall_clock_ms(), id});
  if (published.error) return published.error;
  metrics_.messages_in += 1;
  metrics_.messages_out += published.delivered;
  work_.deliveries += published.delivered;
  return std::nullopt;
}

Hub::Outcome Hub::history(Participant& p, const protocol::HistoryRequest& request,
                          const protocol::RequestId& id) {
  if (Outcome refused = outside_grant(p, request.room, id)) return refused;
  // Within --history-answer-max-bytes, and leaving a quarter of the queue
  // for the traffic behind it: no client is closed as a slow consumer for
  // the size of its own answer.
  std::size_t room_left = p.send_room(), reserve = config_.max_queue_bytes / 4;
  std::size_t budget =
      std::min(config_.history_answer_max_bytes, room_left > reserve ? room_left - reserve : 0);
  std::size_t head =
      protocol::encode_history(request.room, {}, id, true).size() + kFrameHeaderBytes;
  HistoryQuery query{.limit = request.limit.value_or(config_.history_default_limit),
                     .before_seq = request.before_seq,
                     .since_seq = request.since_seq,
                     .max_bytes = budget > head ? budget - head : 0};
  engine_.read_history(
      request.room, query, p, [this, &p, room = request.room, id](HistorySlice&& slice) {
        if (slice.truncated) metrics_.count_limit(Limit::history_answer_bytes);
        FramePtr answer = Frame::text(
            protocol::encode_history(room, slice.messages, id, slice.truncated, slice.epoch));
        work_.answer_bytes += answer->size();
        p.deliver(answer);
      });
  return std::nullopt;
}

Hub::Outcome Hub::who(Participant& p, const protocol::WhoRequest& request,
                      const protocol::RequestId& id) {
  if (Outcome refused = outside_grant(p, request.room, id)) return refused;
  auto here = rooms_.find(request.room);
  WhoQuery query{request.after, std::min<std::size_t>(request.limit.value_or(kWhoDefaultLimit),
                                                      config_.who_max_names)};
  engine_.who(request.room, here == rooms_.end() ? nullptr : here->second.get(), query, p,
              [this, &p, room = request.room, id](WhoSlice&& slice) {
                send(p, protocol::Who{room, std::move(slice.names), id, slice.truncated});
              });
  return std::nullopt;
}

}  // namespace loopchat
