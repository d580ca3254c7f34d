// The Redis engine's settings (server/engine/redis_engine.hpp,
// docs/cluster.md). Part of Config; one command-line option each.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "server/redis/redis_connection.hpp"

namespace loopchat {

struct RedisSettings {
  std::string url;         // redis://HOST:PORT[/DB]; empty: the local engine (memory + SQLite)
  RedisEndpoint endpoint;  // parsed from url
  std::uint32_t timeout_ms = 1000;         // a command's reply, and a connect
  std::uint64_t history_max = 100000;      // stream entries kept per room (XADD MAXLEN ~)
  std::uint32_t backoff_initial_ms = 100;  // reconnect: first wait, doubled up to the max
  std::uint32_t backoff_max_ms = 5000;
  // A node's lease on its members, refreshed every quarter of it: a dead
  // node's members leave everyone's view within 1.25 times this.
  std::uint32_t node_ttl_ms = 10000;
};

// redis://HOST:PORT[/DB] with HOST an IPv4 or IPv6 address ([::1]); the
// error, or nullopt when `url` is good (then `out` is set).
std::optional<std::string> parse_redis_url(const std::string& url, RedisEndpoint& out);

}  // namespace loopchat
