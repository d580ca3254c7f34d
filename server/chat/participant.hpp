// What the chat state (hub, rooms) knows of a connection: a nickname, its
// rooms, and a way to queue frames to it. No I/O happens through this
// interface synchronously: deliver() only queues, and a connection over its
// queue limit is closed later by its own coroutine, never while a room
// iterates its members.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "server/auth/grant.hpp"
#include "server/transport/frame.hpp"

namespace loopchat {

class Room;

class Participant {
 public:
  virtual ~Participant() = default;
  virtual void deliver(const FramePtr& frame) = 0;
  // Bytes deliver() still takes before the connection is over its queue
  // limit: a direct answer (history) sizes itself to fit.
  virtual std::size_t send_room() const = 0;
  // Ends the connection with a close code (a token that ran out: 1008).
  virtual void end(std::uint16_t code, std::string_view reason) = 0;

  // Set by the hub while the participant is connected.
  std::string name;
  // What its token grants, with authentication on (its name is then the
  // token's); null in open mode.
  GrantPtr grant;
  // The rooms joined, each with this participant's slot in the room's member
  // list (so leaving is O(1)). Few per participant: searched linearly.
  struct Membership {
    Room* room;
    std::size_t slot;
  };
  std::vector<Membership> memberships;

  // The joined room of that name, or nullptr.
  Room* joined(const std::string& room) const;
  bool in_room(const std::string& room) const { return joined(room) != nullptr; }
};

}  // namespace loopchat
