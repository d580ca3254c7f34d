// Requests sent and not yet answered, by id. Scripted mode exits only when
// this is empty, and answers (errors above all) are explained with what was
// asked. The server answers a connection's requests in order, so a `pong`
// also settles every earlier request that has no answer of its own on
// success (`nick`).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/protocol.hpp"

namespace loopchat::cli {

enum class RequestKind {
  join,          // answered by joined (or error)
  leave,         // left
  nick,          // nothing on success: settled by the pong that follows it
  say,           // the message carrying its id, from us
  history,       // a /history asked by the user
  history_fill,  // a page of the history after a (re)join, to fill the gap
  history_more,  // a /more page: messages before the oldest shown
  ping,          // pong
  remind,        // reminder, when the timer fires
  fetch,         // fetched
  stats,         // stats
  who,           // who, page after page
  auth,          // authenticated
};

struct PendingRequest {
  RequestKind kind = RequestKind::ping;
  std::string room = {};      // join, leave, say, history*, fetch
  std::string name = {};      // nick: the name asked for
  std::string previous = {};  // nick: the name before; join: the current room before
  bool from_user = true;      // false for what the client sends on its own (rejoin, renick)
};

class PendingRequests {
 public:
  // Registers a request and returns the id to send it with.
  std::int64_t add(PendingRequest request);
  const PendingRequest* find(const protocol::RequestId& id) const;
  std::optional<PendingRequest> take(const protocol::RequestId& id);
  // The pong of ping `id` arrived: everything sent before it that waits only
  // for success-without-answer (nick) is done. Returns those, oldest first.
  std::vector<PendingRequest> settle_before(std::int64_t id);
  // Forgets everything (the connection dropped); returns how many there were.
  std::size_t clear();

  std::size_t size() const { return requests_.size(); }
  bool empty() const { return requests_.empty(); }
  // Requests still waiting whose answer may take long (reminders, fetches).
  std::size_t slow() const;

  static std::optional<std::int64_t> as_int(const protocol::RequestId& id);

 private:
  std::int64_t next_id_ = 1;
  std::map<std::int64_t, PendingRequest> requests_;
};

}  // namespace loopchat::cli
