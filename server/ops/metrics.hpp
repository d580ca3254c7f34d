// The server's counters, bumped on the loop (one thread: plain integers) and
// rendered as Prometheus text at GET /metrics.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>

#include "common/protocol.hpp"

namespace loopchat {

// The limits whose hits /metrics counts (loopchat_limit_hits_total). The
// request limits (rate, timers, ...) are counted as error answers and shown
// there too; these are the ones that end or refuse a connection.
enum class Limit {
  connections,         // --max-connections: 503 at the upgrade
  connections_per_ip,  // --max-connections-per-ip: 503 at the upgrade
  handshakes,          // --max-handshakes: closed at accept
  handshake_bytes,     // --max-handshake-bytes: 431
  handshake_timeout,   // --handshake-timeout-ms: dropped
  message_bytes,       // --max-message-bytes: close 1009
  queue_bytes,         // --max-queue-bytes: close 1008
  ping_timeout,        // --ping-timeout-ms: close 1001
  // The costs of requests (docs/security.md, "The cost model").
  request_budget,        // --request-budget-units-per-s: rate_limited, the request not run
  over_budget,           // --max-refused-requests: close 1008
  presence_rate,         // --presence-rate: join/leave/nick rate_limited
  history_answer_bytes,  // --history-answer-max-bytes: a history answer truncated
  history_bytes,         // --max-history-bytes: messages dropped from history
  reminder_bytes,        // --max-reminder-bytes: remind refused, server_busy
};
inline constexpr int kLimitCount = static_cast<int>(Limit::reminder_bytes) + 1;
const char* to_string(Limit limit);

// The message store's work and faults (server/store/message_store.hpp).
struct StoreCounters {
  std::uint64_t commits = 0;           // turn transactions committed
  std::uint64_t failures = 0;          // transactions, checkpoints and passes that failed
  std::uint64_t read_failures = 0;     // reads that failed (history served from memory)
  std::uint64_t messages_saved = 0;    // messages committed
  std::uint64_t messages_unsaved = 0;  // messages delivered but not stored (a fault)
  std::uint64_t rows_deleted = 0;      // by retention
  std::uint64_t checkpoints = 0;
  double commit_seconds_total = 0, commit_seconds_max = 0;
  double checkpoint_seconds_total = 0, checkpoint_seconds_max = 0;

  void note_commit(std::chrono::steady_clock::duration took) {
    note(took, commit_seconds_total, commit_seconds_max);
  }
  void note_checkpoint(std::chrono::steady_clock::duration took) {
    note(took, checkpoint_seconds_total, checkpoint_seconds_max);
  }

 private:
  static void note(std::chrono::steady_clock::duration took, double& total, double& max) {
    double seconds = std::chrono::duration<double>(took).count();
    total += seconds;
    if (seconds > max) max = seconds;
  }
};

// The Redis engine's faults and reaps (server/engine/redis_engine.hpp).
struct RedisCounters {
  std::uint64_t connection_losses = 0;
  std::uint64_t publish_failures = 0;  // say's script failed after it was accepted
  std::uint64_t nodes_reaped = 0;      // other nodes whose lease ran out, reaped by this one
  std::uint64_t members_reaped = 0;
};

struct Metrics {
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  double uptime_s() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  }
  std::uint64_t connections_accepted = 0;     // TCP accepts
  std::uint64_t connections_open = 0;         // upgraded connections, until their socket closes
  std::uint64_t connections_handshaking = 0;  // accepted sockets still in their HTTP phase
  std::uint64_t handshakes_rejected = 0;      // upgrades answered with an HTTP error
  std::uint64_t http_requests = 0;            // plain HTTP requests (page, health, metrics)
  std::uint64_t accept_errors = 0;
  std::uint64_t frames_in = 0;     // WebSocket data messages received
  std::uint64_t bytes_in = 0;      // socket bytes read
  std::uint64_t frames_out = 0;    // frames queued to sockets
  std::uint64_t bytes_out = 0;     // socket bytes written
  std::uint64_t writes = 0;        // write syscalls' worth of gathered writes
  std::uint64_t messages_in = 0;   // `say` accepted
  std::uint64_t messages_out = 0;  // `message` deliveries queued
  std::array<std::uint64_t, protocol::kErrorCodeCount> errors{};
  std::map<std::uint16_t, std::uint64_t> closes;  // by WebSocket close code
  std::array<std::uint64_t, kLimitCount> limit_hits{};
  StoreCounters store;
  RedisCounters redis;
  bool clustered = false;  // the Redis engine is in use: its counters are reported

  void count_error(protocol::ErrorCode code) { ++errors[static_cast<int>(code)]; }
  void count_close(std::uint16_t code) { ++closes[code]; }
  void count_limit(Limit limit, std::uint64_t times = 1) {
    limit_hits[static_cast<int>(limit)] += times;
  }
};

// Gauges that live elsewhere, read at render time.
struct MetricsGauges {
  std::uint64_t rooms = 0;
  std::uint64_t rss_bytes = 0;
  double uptime_s = 0;
  protocol::LoopLag loop_lag_ms;
  std::uint64_t reminders_pending = 0;
  std::uint64_t reminder_bytes = 0;
  std::uint64_t history_bytes = 0;
  std::uint64_t fetches_in_flight = 0;
  std::uint64_t fetches_started = 0;
  std::uint64_t fetches_succeeded = 0;
  bool store_enabled = false;   // a database is in use (not --memory-only)
  bool store_degraded = false;  // it is not writing (/healthz says so)
};

std::string render_prometheus(const Metrics& metrics, const MetricsGauges& gauges);

}  // namespace loopchat
