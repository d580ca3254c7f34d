// Every limit and timeout of the server, in one place, with units in the
// names. options.cpp gives each a command-line option; tests build it with
// small values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/codec.hpp"
#include "server/auth/auth_settings.hpp"
#include "server/fetch/dns_resolver.hpp"
#include "server/fetch/fetch_limits.hpp"
#include "server/redis/redis_settings.hpp"
#include "server/store/store_settings.hpp"

namespace loopchat {

struct Config {
  // Where to listen. Port 0 picks a free port (tests read it from the log line).
  std::string bind_address = "0.0.0.0";
  std::uint16_t port = 8080;
  bool reuse_port =
      false;  // SO_REUSEPORT: several processes share the port (a cluster on one host)
  bool quiet = false;
  // The log (server/ops/log.hpp): hostile clients can trigger lines at will.
  std::size_t log_lines_per_second = 20;     // per call site; then one "suppressed" line (0: off)
  std::size_t log_buffer_bytes = 64 * 1024;  // lines waiting for a full stderr; beyond: dropped

  // Connections and frames.
  std::size_t max_connections = 100000;      // beyond: HTTP 503 at the upgrade
  std::size_t max_connections_per_ip = 256;  // per IPv4 address or IPv6 /64 -> 503 (0: off)
  // Sources the per-address limit spares (a reverse proxy or local tools);
  // loopback by default, so load tests on one machine are not capped.
  std::vector<std::string> per_ip_exempt_cidrs = {"127.0.0.0/8", "::1"};
  std::size_t max_handshake_bytes =
      8192;  // HTTP request head; beyond: 431 (websocketpp caps at 16000)
  // Connections still in their HTTP phase, at once; beyond, an accepted
  // socket is closed at once. Bounds the request heads held to this many.
  std::size_t max_handshakes = 1024;
  std::size_t max_message_bytes = 64 * 1024;  // a larger frame closes with 1009
  std::size_t max_queue_bytes = 1024 * 1024;  // outbound bytes queued per connection -> 1008
  std::uint32_t close_timeout_ms = 2000;      // wait for the peer's close reply, then drop
  std::uint32_t drain_timeout_ms = 1500;      // on SIGINT/SIGTERM: 1001 to all, then exit

  // Chat state.
  std::size_t history_size = 100;          // messages kept per room
  std::size_t history_default_limit = 50;  // `history` without `limit`
  std::size_t max_rooms = 100000;          // rooms kept; empty ones are evicted first
  std::size_t max_rooms_per_client = 64;   // joins beyond -> server_busy
  // Join/leave presence frames every member: filling a room of n costs n²/2
  // frames. Larger rooms get none (0: every room does).
  std::size_t presence_max_members = 100;
  protocol::RequestRules rules;  // text, name and room lengths

  // Timers (issue: timers and fetches).
  std::uint32_t ping_interval_ms = 20000;     // WebSocket ping to every client
  std::uint32_t ping_timeout_ms = 10000;      // no pong by then -> close 1001
  std::uint32_t handshake_timeout_ms = 5000;  // incomplete upgrade -> dropped
  std::size_t max_timers_per_client = 100;    // pending reminders -> too_many_timers
  double rate_per_s = 20;                     // `say` token bucket refill
  double burst = 40;                          // `say` token bucket size

  // What a request may cost (docs/security.md, "The cost model"). A unit is
  // what decoding one byte costs the loop (~20 ns): each byte decoded or
  // answered costs one, each request cost_per_request_units more, each frame
  // fanned out to a member cost_per_delivery_units. A connection spends from a token bucket and is
  // charged after each request (a fan-out is known only then); a request that
  // arrives while the bucket is empty is refused unread (rate_limited).
  double request_budget_units_per_s = 0;     // refill; 0: 100,000 per say of --rate, >= 2,000,000
  double request_burst_units = 0;            // bucket; 0: 100,000 per say of --burst, >= 4,000,000
  std::size_t cost_per_request_units = 256;  // a decode's fixed part (~5 µs), dispatch
  std::size_t cost_per_delivery_units = 16;  // a queue push and a share of a gathered write
  std::size_t max_refused_requests = 100;    // refusals in a row; the next one closes 1008
  // join, leave and nick each frame a whole room: a flood of them is refused.
  double presence_rate_per_s = 2;
  double presence_burst = 20;
  // Answers and server-wide totals bounded in bytes.
  std::size_t history_answer_max_bytes = 256 * 1024;  // beyond: the answer is truncated
  std::size_t max_history_bytes = 256
                                  << 20;  // all rooms' history; evicted and trimmed, oldest first
  std::size_t max_reminder_bytes = 64 << 20;  // all pending reminders; beyond: server_busy

  // Durable history (server/store/, docs/persistence.md).
  StoreSettings store;
  // The cluster engine (server/engine/redis_engine.hpp, docs/cluster.md):
  // with a URL, rooms live in Redis and the store is not used.
  RedisSettings redis;

  // Who may come in (server/auth/, docs/security.md).
  AuthSettings auth;
  std::size_t who_max_names = 1000;  // names per `who` answer (page on with `after`)

  // Outbound fetches (server/fetcher.hpp, docs/fetch.md).
  FetchLimits fetch;
  DnsOptions dns;
};

}  // namespace loopchat
