// Protocol v1 of loopchat (docs/protocol.md): the typed requests a client sends
// and the typed events a server sends. Only codec.cpp knows their JSON form.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace loopchat::protocol {

// The `id` a client may attach to a request: absent, a string (<= 64 chars) or an integer.
using RequestId = std::variant<std::monostate, std::string, std::int64_t>;

enum class ErrorCode {
  bad_json,
  bad_request,
  unknown_type,
  bad_room,
  bad_name,
  name_taken,
  not_in_room,
  too_long,
  rate_limited,
  fetch_denied,
  fetch_failed,
  fetch_timeout,
  too_many_timers,
  server_busy,
  forbidden,  // extension: refused by the connection's token (a room outside it, nick, auth)
};
inline constexpr int kErrorCodeCount = static_cast<int>(ErrorCode::forbidden) + 1;
std::string_view to_string(ErrorCode code);
std::optional<ErrorCode> error_code_from_string(std::string_view text);

// ---------------------------------------------------------------- requests

struct Join {
  std::string room;
};
struct Leave {
  std::string room;
};
struct Nick {
  std::string name;
};
struct Say {
  std::string room;
  std::string text;
};
struct HistoryRequest {
  std::string room;
  std::optional<std::uint32_t> limit;
  // Extensions: only messages with seq < before_seq (paging back), or with
  // seq > since_seq (filling a gap after a reconnect), oldest first.
  std::optional<std::uint64_t> before_seq = std::nullopt;
  std::optional<std::uint64_t> since_seq = std::nullopt;
};
struct Ping {};
struct Remind {
  std::int64_t after_ms = 0;
  std::string text;
};
struct Fetch {
  std::string url;
  std::optional<std::string> room;
};
struct StatsRequest {};
// Extensions: a fresh token for the connection (docs/security.md), and the
// names of a room's members, paged in name order after `after`.
struct AuthRequest {
  std::string token;
};
struct WhoRequest {
  std::string room;
  std::optional<std::string> after = std::nullopt;
  std::optional<std::uint32_t> limit = std::nullopt;
};

using RequestBody = std::variant<Join, Leave, Nick, Say, HistoryRequest, Ping, Remind, Fetch,
                                 StatsRequest, AuthRequest, WhoRequest>;

struct Request {
  RequestId id;
  RequestBody body;
};

// ------------------------------------------------------------------ events

struct Welcome {
  std::string name;
  std::string version;
};
struct Joined {
  std::string room;
  std::uint64_t members = 0;
  RequestId id;
  // Extension: the room's history generation, on a clustered server. A new
  // epoch means the room's seqs started over: a client's last seq means
  // nothing there any more (docs/protocol.md, "Epochs").
  std::string epoch = {};
};
struct Left {
  std::string room;
  std::uint64_t members = 0;
  RequestId id;
};
enum class PresenceEvent { join, leave, nick };
struct Presence {
  std::string room;
  std::string name;
  PresenceEvent event = PresenceEvent::join;
  std::optional<std::string> old_name;  // `nick` only: the name before (extension: "old")
};
struct Message {
  std::string room;
  std::string from;
  std::string text;
  std::uint64_t seq = 0;
  std::int64_t ts = 0;
  RequestId id;
};
struct History {
  std::string room;
  std::vector<Message> messages;
  RequestId id;
  // Extension: messages of the asked range were left out to keep the answer
  // within its byte budget; page on with before_seq / since_seq.
  bool truncated = false;
  std::string epoch = {};  // extension, as in Joined; empty when absent
};
struct Pong {
  std::int64_t ts = 0;
  RequestId id;
};
struct Reminder {
  std::string text;
  std::int64_t late_ms = 0;
  RequestId id;
};
struct Fetched {
  std::string url;
  int status = 0;
  std::uint64_t bytes = 0;
  std::int64_t ms = 0;
  std::optional<std::string> title;
  RequestId id;
  bool truncated = false;  // extension: the body was cut at --fetch-max-bytes
};
struct LoopLag {
  double p50 = 0, p99 = 0, max = 0;
};
struct Stats {
  std::uint64_t connections = 0;
  std::uint64_t rooms = 0;
  std::uint64_t messages_in = 0;
  std::uint64_t messages_out = 0;
  LoopLag loop_lag_ms;
  std::int64_t uptime_s = 0;
  std::uint64_t rss_bytes = 0;
  RequestId id;
};
// Extension: a token was taken; the connection stays open until `expires` (unix seconds).
struct Authenticated {
  std::string name;
  std::int64_t expires = 0;
  RequestId id;
};
// Extension: the answer to `who`, names in order; `truncated` when more follow
// (ask again with `after` = the last name).
struct Who {
  std::string room;
  std::vector<std::string> names;
  RequestId id;
  bool truncated = false;
};
struct Error {
  ErrorCode code = ErrorCode::bad_request;
  std::string message;
  RequestId id;
};

using Event = std::variant<Welcome, Joined, Left, Presence, Message, History, Pong, Reminder,
                           Fetched, Stats, Authenticated, Who, Error>;

}  // namespace loopchat::protocol
