// The chat state: who is connected under which name, which rooms exist here
// and who is in them, and the handlers of the chat requests (join, leave,
// nick, say, history). A room's order, history and fan-out are the engine's
// (server/engine/engine.hpp). The hub never does I/O: it queues frames to
// participants.
#pragma once

#include <list>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "common/protocol.hpp"
#include "server/chat/participant.hpp"
#include "server/chat/room.hpp"
#include "server/config.hpp"
#include "server/engine/engine.hpp"
#include "server/ops/metrics.hpp"

namespace loopchat {

class Hub {
 public:
  Hub(const Config& config, Metrics& metrics, Engine& engine)
      : config_(config), metrics_(metrics), engine_(engine) {}
  Hub(const Hub&) = delete;
  Hub& operator=(const Hub&) = delete;

  // A connection that finished its handshake: gets a guest name and `welcome`.
  void connect(Participant& participant);
  // Leaves every room (presence to the others) and frees the name. The
  // participant must call this before it is destroyed.
  void disconnect(Participant& participant);

  // Each returns the error to answer with, if the request failed.
  using Outcome = std::optional<protocol::Error>;
  Outcome join(Participant& p, const protocol::Join& request, const protocol::RequestId& id);
  Outcome leave(Participant& p, const protocol::Leave& request, const protocol::RequestId& id);
  Outcome nick(Participant& p, const protocol::Nick& request, const protocol::RequestId& id);
  Outcome say(Participant& p, const protocol::Say& request, const protocol::RequestId& id);
  Outcome history(Participant& p, const protocol::HistoryRequest& request,
                  const protocol::RequestId& id);
  Outcome who(Participant& p, const protocol::WhoRequest& request, const protocol::RequestId& id);
  // Posts a message from `p` to a room it is in (also used for link previews).
  Outcome post(Participant& p, const std::string& room, std::string text,
               const protocol::RequestId& id);

  std::size_t connected() const { return names_.size(); }
  std::size_t active_rooms() const { return rooms_.size() - empty_rooms_.size(); }
  std::size_t rooms() const { return rooms_.size(); }
  // Bytes of all rooms' history in memory (kept under --max-history-bytes).
  std::size_t history_bytes() const { return engine_.history_bytes(); }
  const Engine& engine() const { return engine_; }

  // Encodes `event` for one participant and queues it.
  void send(Participant& p, const protocol::Event& event);

  // What the hub has queued since it started: the request handler charges a
  // request with the difference around it.
  struct Work {
    std::uint64_t deliveries = 0;    // frames fanned out to room members
    std::uint64_t answer_bytes = 0;  // bytes of frames sent to one participant
  };
  const Work& work() const { return work_; }

 private:
  Room* open_room(const std::string& name);  // nullptr when the room limit is reached
  void evict(Room& room);                    // an empty room
  void leave_room(Participant& p, Room& room, Engine::RoomAnswer answer);
  void rename(Participant& p, const std::string& name);  // a name the engine let p claim
  // forbidden when p's token does not allow the room (authentication on).
  Outcome outside_grant(const Participant& p, const std::string& room,
                        const protocol::RequestId& id) const;
  void announce(Room& room, const protocol::Presence& presence, const Participant* except);
  std::string next_guest_name();

  const Config& config_;
  Metrics& metrics_;
  Engine& engine_;
  std::unordered_map<std::string, Participant*> names_;
  std::unordered_map<std::string, std::unique_ptr<Room>> rooms_;
  std::list<Room*> empty_rooms_;  // least recently emptied first: evicted first
  Work work_;
  std::uint64_t guest_counter_ = 0;
};

}  // namespace loopchat
