// Every limit and timeout of the server, in one place, with units in the
// names. options.cpp gives each a command-line option; tests build it with
// small values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/codec.hpp"
#include "server/fetch/dns_resolver.hpp"
#include "server/fetch/fetch_limits.hpp"

namespace loopchat {

struct Config {
  // Where to listen. Port 0 picks a free port (tests read it from the log line).
  std::string bind_address = "0.0.0.0";
  std::uint16_t port = 8080;
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
  std::size_t max_message_bytes = 64 * 1024;  // a larger frame closes with 1009
  std::size_t max_queue_bytes = 1024 * 1024;  // outbound bytes queued per connection -> 1008
  std::uint32_t close_timeout_ms = 2000;      // wait for the peer's close reply, then drop
  std::uint32_t drain_timeout_ms = 1500;      // on SIGINT/SIGTERM: 1001 to all, then exit

  // Chat state.
  std::size_t history_size = 100;          // messages kept per room
  std::size_t history_default_limit = 50;  // `history` without `limit`
  std::size_t max_rooms = 100000;          // rooms kept; empty ones are evicted first
  std::size_t max_rooms_per_client = 64;   // joins beyond -> server_busy
  std::size_t presence_max_members = 0;    // no join/leave presence in larger rooms (0: always)
  protocol::RequestRules rules;            // text, name and room lengths

  // Timers (issue: timers and fetches).
  std::uint32_t ping_interval_ms = 20000;     // WebSocket ping to every client
  std::uint32_t ping_timeout_ms = 10000;      // no pong by then -> close 1001
  std::uint32_t handshake_timeout_ms = 5000;  // incomplete upgrade -> dropped
  std::size_t max_timers_per_client = 100;    // pending reminders -> too_many_timers
  double rate_per_s = 20;                     // `say` token bucket refill
  double burst = 40;                          // `say` token bucket size

  // Outbound fetches (server/fetcher.hpp, docs/fetch.md).
  FetchLimits fetch;
  DnsOptions dns;
};

}  // namespace loopchat
