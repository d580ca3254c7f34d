#include "server/ops/metrics.hpp"

#include <sstream>
#include <utility>

#include "server/ops/log.hpp"

namespace loopchat {
namespace {

void metric(std::ostringstream& out, const char* name, const char* type, const char* help,
            double value) {
  out << "# HELP loopchat_" << name << ' ' << help << "\n# TYPE loopchat_" << name << ' ' << type
      << "\nloopchat_" << name << ' ' << value << '\n';
}

}  // namespace

const char* to_string(Limit limit) {
  switch (limit) {
    case Limit::connections:
      return "connections";
    case Limit::connections_per_ip:
      return "connections_per_ip";
    case Limit::handshakes:
      return "handshakes";
    case Limit::handshake_bytes:
      return "handshake_bytes";
    case Limit::handshake_timeout:
      return "handshake_timeout";
    case Limit::message_bytes:
      return "message_bytes";
    case Limit::queue_bytes:
      return "queue_bytes";
    case Limit::ping_timeout:
      return "ping_timeout";
    case Limit::request_budget:
      return "request_budget";
    case Limit::over_budget:
      return "over_budget";
    case Limit::presence_rate:
      return "presence_rate";
    case Limit::history_answer_bytes:
      return "history_answer_bytes";
    case Limit::history_bytes:
      return "history_bytes";
    case Limit::reminder_bytes:
      return "reminder_bytes";
  }
  return "?";
}

std::string render_prometheus(const Metrics& m, const MetricsGauges& g) {
  std::ostringstream out;
  out.precision(15);
  metric(out, "connections", "gauge", "Open WebSocket connections.", double(m.connections_open));
  metric(out, "connections_handshaking", "gauge", "Accepted sockets still in their HTTP phase.",
         double(m.connections_handshaking));
  metric(out, "connections_accepted_total", "counter", "TCP connections accepted.",
         double(m.connections_accepted));
  metric(out, "handshakes_rejected_total", "counter", "WebSocket upgrades refused.",
         double(m.handshakes_rejected));
  metric(out, "http_requests_total", "counter", "Plain HTTP requests served.",
         double(m.http_requests));
  metric(out, "accept_errors_total", "counter", "Failed accept calls (EMFILE and others).",
         double(m.accept_errors));
  metric(out, "rooms", "gauge", "Rooms with at least one member.", double(g.rooms));
  metric(out, "frames_in_total", "counter", "WebSocket messages received.", double(m.frames_in));
  metric(out, "bytes_in_total", "counter", "Bytes read from sockets.", double(m.bytes_in));
  metric(out, "frames_out_total", "counter", "Frames queued to sockets.", double(m.frames_out));
  metric(out, "bytes_out_total", "counter", "Bytes written to sockets.", double(m.bytes_out));
  metric(out, "writes_total", "counter", "Gathered socket writes.", double(m.writes));
  metric(out, "messages_in_total", "counter", "Chat messages accepted.", double(m.messages_in));
  metric(out, "messages_out_total", "counter", "Chat message deliveries.", double(m.messages_out));
  out << "# HELP loopchat_errors_total Error answers by code.\n"
         "# TYPE loopchat_errors_total counter\n";
  for (int i = 0; i < protocol::kErrorCodeCount; ++i)
    out << "loopchat_errors_total{code=\"" << protocol::to_string(protocol::ErrorCode(i)) << "\"} "
        << m.errors[i] << '\n';
  out << "# HELP loopchat_closes_total Closed WebSocket connections by close code.\n"
         "# TYPE loopchat_closes_total counter\n";
  for (auto [code, count] : m.closes)
    out << "loopchat_closes_total{code=\"" << code << "\"} " << count << '\n';
  out << "# HELP loopchat_limit_hits_total Requests, upgrades and connections refused or "
         "closed by a limit.\n"
         "# TYPE loopchat_limit_hits_total counter\n";
  for (int i = 0; i < kLimitCount; ++i)
    out << "loopchat_limit_hits_total{limit=\"" << to_string(Limit(i)) << "\"} " << m.limit_hits[i]
        << '\n';
  // The limits of requests answer with an error code: shown under their limit's name too.
  constexpr std::pair<const char*, protocol::ErrorCode> kRequestLimits[] = {
      {"rate", protocol::ErrorCode::rate_limited},
      {"timers", protocol::ErrorCode::too_many_timers},
      {"text_chars", protocol::ErrorCode::too_long},
      {"busy", protocol::ErrorCode::server_busy},
  };
  for (auto [name, code] : kRequestLimits)
    out << "loopchat_limit_hits_total{limit=\"" << name << "\"} "
        << m.errors[static_cast<int>(code)] << '\n';
  out << "# HELP loopchat_loop_lag_ms Lateness of a 10 ms timer over the last 10 s.\n"
         "# TYPE loopchat_loop_lag_ms gauge\n"
      << "loopchat_loop_lag_ms{quantile=\"0.5\"} " << g.loop_lag_ms.p50 << '\n'
      << "loopchat_loop_lag_ms{quantile=\"0.99\"} " << g.loop_lag_ms.p99 << '\n'
      << "loopchat_loop_lag_ms{quantile=\"1\"} " << g.loop_lag_ms.max << '\n';
  metric(out, "reminders_pending", "gauge", "Reminders waiting to fire.",
         double(g.reminders_pending));
  metric(out, "reminder_bytes", "gauge", "Bytes held by pending reminders.",
         double(g.reminder_bytes));
  metric(out, "history_bytes", "gauge", "Bytes held by all rooms' history.",
         double(g.history_bytes));
  metric(out, "fetches_in_flight", "gauge", "Outbound fetches running.",
         double(g.fetches_in_flight));
  metric(out, "fetches_started_total", "counter", "Outbound fetches started.",
         double(g.fetches_started));
  metric(out, "fetches_succeeded_total", "counter", "Outbound fetches answered with fetched.",
         double(g.fetches_succeeded));
  if (g.store_enabled && !m.clustered) {
    const StoreCounters& st = m.store;
    metric(out, "store_degraded", "gauge", "1 while the database is not writing.",
           g.store_degraded ? 1 : 0);
    metric(out, "store_commits_total", "counter", "Loop-turn transactions committed.",
           double(st.commits));
    metric(out, "store_failures_total", "counter",
           "Failed database writes (transactions, checkpoints, retention passes).",
           double(st.failures));
    metric(out, "store_read_failures_total", "counter", "Failed database reads.",
           double(st.read_failures));
    metric(out, "store_messages_saved_total", "counter", "Messages committed to the database.",
           double(st.messages_saved));
    metric(out, "store_messages_unsaved_total", "counter",
           "Messages delivered but not stored, because the database failed.",
           double(st.messages_unsaved));
    metric(out, "store_rows_deleted_total", "counter", "Messages deleted by retention.",
           double(st.rows_deleted));
    metric(out, "store_checkpoints_total", "counter", "WAL checkpoints run by the loop.",
           double(st.checkpoints));
    metric(out, "store_commit_seconds_total", "counter", "Loop time spent committing.",
           st.commit_seconds_total);
    metric(out, "store_commit_seconds_max", "gauge", "Longest commit.", st.commit_seconds_max);
    metric(out, "store_checkpoint_seconds_total", "counter", "Loop time spent checkpointing.",
           st.checkpoint_seconds_total);
    metric(out, "store_checkpoint_seconds_max", "gauge", "Longest checkpoint.",
           st.checkpoint_seconds_max);
  }
  if (m.clustered) {
    const RedisCounters& r = m.redis;
    metric(out, "redis_degraded", "gauge",
           "1 while Redis is unreachable (say answers server_busy).", g.store_degraded ? 1 : 0);
    metric(out, "redis_connection_losses_total", "counter", "Redis connections lost.",
           double(r.connection_losses));
    metric(out, "redis_publish_failures_total", "counter",
           "Messages accepted whose publish script failed (lost).", double(r.publish_failures));
    metric(out, "redis_nodes_reaped_total", "counter",
           "Other nodes whose lease ran out, reaped by this one.", double(r.nodes_reaped));
    metric(out, "redis_members_reaped_total", "counter",
           "Members of reaped nodes taken out of their rooms.", double(r.members_reaped));
  }
  const log::Counters& logged = log::counters();
  metric(out, "log_lines_suppressed_total", "counter",
         "Log lines left out over a call site's rate (--log-lines-per-second).",
         double(logged.lines_suppressed));
  metric(out, "log_lines_dropped_total", "counter",
         "Log lines dropped: stderr was full and so was the buffer (--log-buffer-bytes).",
         double(logged.lines_dropped));
  metric(out, "coroutine_failures_total", "counter",
         "Coroutines ended by an exception (each one logged).", double(logged.coroutine_failures));
  metric(out, "uptime_seconds", "gauge", "Seconds since start.", g.uptime_s);
  metric(out, "process_resident_memory_bytes", "gauge", "Resident set size.", double(g.rss_bytes));
  return out.str();
}

}  // namespace loopchat
