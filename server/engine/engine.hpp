// The engine seam: the one interface between the hub and where a room's
// order, history and fan-out live. The hub keeps names, each connection's
// rooms and each room's local members (Room); the engine assigns a room's
// next seq, appends the message to its history, delivers it to the members,
// and reads history back by seq range.
//
// LocalEngine (memory + SQLite) does all of it now, on this process's
// members. A cluster engine does the same across processes: its deliveries
// and history answers may come later, from the network, which is why a
// history answer is a callback and why the hub tells the engine when a
// participant goes (forget()).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/protocol.hpp"
#include "server/chat/participant.hpp"
#include "server/chat/room.hpp"
#include "server/transport/frame.hpp"

namespace loopchat {

// A `history` request as the engine sees it: at most `limit` messages, with
// seq < before_seq and seq > since_seq when given, whose payloads plus a
// separator each fit in `max_bytes`. With since_seq the oldest such
// messages, otherwise the newest.
struct HistoryQuery {
  std::size_t limit = 0;
  std::optional<std::uint64_t> before_seq = std::nullopt;
  std::optional<std::uint64_t> since_seq = std::nullopt;
  std::size_t max_bytes = SIZE_MAX;
};

// The answer: encoded `message` payloads, oldest first. `truncated` when the
// bytes or the server's page size left some out (the client pages on).
struct HistorySlice {
  std::vector<std::string_view> messages;
  std::vector<std::string> storage;  // payloads read from disk, which `messages` may view
  bool truncated = false;
};

class Engine {
 public:
  virtual ~Engine() = default;

  // Gives `message` the room's next seq, appends it to the room's history
  // and delivers it to every member, the sender included, in seq order.
  // Returns the number of local deliveries, or the error to answer with
  // when the engine cannot take a message now.
  struct Published {
    std::optional<protocol::Error> error;
    std::size_t delivered = 0;
  };
  virtual Published publish(Room& room, protocol::Message message) = 0;

  // Delivers an event that is not history (presence) to the room's members
  // but `except`. Returns the local deliveries.
  virtual std::size_t broadcast(Room& room, const FramePtr& frame, const Participant* except) = 0;

  // A local member joined or left the room (after Room::add, Room::remove):
  // a cluster engine subscribes to a room on its first local member and
  // unsubscribes on its last.
  virtual void member_joined(Room& room, Participant& member) = 0;
  virtual void member_left(Room& room, Participant& member) = 0;

  // Members of the room, as `joined`, `left` and `stats` report them.
  virtual std::size_t members(const Room& room) const = 0;

  // Reads a room's history (`room` may be in no local Room at all). `answer`
  // is called exactly once, now or later, but never after forget(asker).
  using HistoryAnswer = std::function<void(HistorySlice&&)>;
  virtual void read_history(const std::string& room, const HistoryQuery& query, Participant& asker,
                            HistoryAnswer answer) = 0;

  // The participant is going: nothing of the engine may refer to it after.
  virtual void forget(Participant& participant) = 0;
  // The hub evicts the room (no member left): what the engine keeps of it
  // in memory can go. A durable engine keeps its seq and history.
  virtual void close_room(const std::string& room) = 0;

  // What a guest name starts with ("guest-" then a number the hub counts):
  // a cluster engine makes it unique to this node, so that guests of
  // different nodes never share a name.
  virtual std::string guest_name_prefix() const = 0;

  // Bytes of history the engine holds in memory (/metrics).
  virtual std::size_t history_bytes() const = 0;
  // Whether messages outlive the process; and why the engine is not
  // storing them right now, or empty (/healthz, /metrics).
  virtual bool durable() const = 0;
  virtual std::string degraded() const = 0;
};

}  // namespace loopchat
