// The engine seam: the one interface between the hub and where a room's
// order, history, fan-out and presence live. The hub keeps this process's
// names, each connection's rooms and each room's local members (Room); the
// engine assigns a room's next seq, appends the message to its history,
// delivers it to the members, announces joins and leaves, and reads history
// back by seq range.
//
// LocalEngine (memory + SQLite) does all of it on this process's members.
// RedisEngine does the same across processes, and also keeps names and
// members cluster-wide: its deliveries and answers may come later, from the
// network, which is why answers are callbacks and why the hub tells the
// engine when a participant goes (forget()).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/codec.hpp"
#include "common/protocol.hpp"
#include "server/chat/participant.hpp"
#include "server/chat/room.hpp"
#include "server/config.hpp"
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
  std::string epoch;  // as in Engine::RoomView
};

// A `who` request: names after `after` (in byte order), at most `limit`.
struct WhoQuery {
  std::optional<std::string> after;
  std::size_t limit = 0;
};
struct WhoSlice {
  std::vector<std::string> names;  // in order, each once
  bool truncated = false;          // more follow: ask again after the last
};
// The page of `names` (any order, repeats allowed) that `query` asks for:
// O(n log n) in the room's size.
WhoSlice page_of_names(std::vector<std::string> names, const WhoQuery& query);

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

  // Delivers an event that is not history (a nick's presence) to the room's
  // members but `except`. Returns the local deliveries.
  virtual std::size_t broadcast(Room& room, const FramePtr& frame, const Participant* except) = 0;

  // A room as the engine counts it, for `joined` and `left`.
  struct RoomView {
    std::size_t members = 0;  // this process's members, or the whole cluster's
    std::string epoch;        // the room's history generation; empty when seqs never start over
  };
  using RoomAnswer = std::function<void(const RoomView&)>;

  // A local member joined the room (after Room::add) or left it (after
  // Room::remove). The engine tells the room's other members (presence, in
  // rooms of at most --presence-max-members) and calls `answer` (when not
  // empty) exactly once, now or later, but never after forget(member). A
  // cluster engine answers a join once the node receives the room's
  // messages, subscribes on a room's first local member and unsubscribes on
  // its last. Returns the deliveries made now (the requester pays for them).
  virtual std::size_t member_joined(Room& room, Participant& member, RoomAnswer answer) = 0;
  virtual std::size_t member_left(Room& room, Participant& member, RoomAnswer answer) = 0;
  // The room's last known view, for a `join` of a room already joined.
  virtual RoomView view(const Room& room) const = 0;

  // Claims `name` for `member` wherever the engine's names are unique (the
  // hub has checked this process's). `answer` gets nullopt when the name is
  // the member's (the hub then renames it), or the error; exactly once, now
  // or later, never after forget(member).
  using NameAnswer = std::function<void(std::optional<protocol::Error>)>;
  virtual void claim_name(Participant& member, const std::string& name,
                          const protocol::RequestId& id, NameAnswer answer) = 0;

  // Connections and rooms with members, for `stats`: given this process's
  // figures, the engine's scope's (a cluster engine's, a few seconds old).
  struct Totals {
    std::uint64_t connections = 0;
    std::uint64_t rooms = 0;
  };
  virtual Totals totals(const Totals& here) const { return here; }

  // Reads a room's history (`room` may be in no local Room at all). `answer`
  // is called exactly once, now or later, but never after forget(asker).
  using HistoryAnswer = std::function<void(HistorySlice&&)>;
  virtual void read_history(const std::string& room, const HistoryQuery& query, Participant& asker,
                            HistoryAnswer answer) = 0;

  // The names of a room's members (`here`: its local members, or null). The
  // answer comes once, now or later, never after forget(asker).
  using WhoAnswer = std::function<void(WhoSlice&&)>;
  virtual void who(const std::string& room, const Room* here, const WhoQuery& query,
                   Participant& asker, WhoAnswer answer) = 0;

  // The participant is going (it has left its rooms): its name is free
  // again, and nothing of the engine may refer to it after.
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

// Join and leave presence costs a frame to every member: filling a room of n
// costs n²/2 deliveries. --presence-max-members turns it off for big rooms:
// whether a room of `others` other members hears of a join or leave.
inline bool announces_presence(const Config& config, std::size_t others) {
  return config.presence_max_members == 0 || others <= config.presence_max_members;
}

inline FramePtr presence_frame(const std::string& room, const std::string& name,
                               protocol::PresenceEvent event) {
  return Frame::text(protocol::encode(protocol::Presence{room, name, event, std::nullopt}));
}

}  // namespace loopchat
