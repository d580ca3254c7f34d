// What a run measured, and its three renderings: the summary on stdout, the
// JSON file (field names documented in docs/load-generator.md: keep them
// stable) and the SVG chart.
#pragma once

#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "client/load/options.hpp"
#include "common/histogram.hpp"

namespace loopchat::load {

// Percentiles of a histogram of microseconds, in milliseconds.
struct LatencySummary {
  uint64_t count = 0;
  double p50_ms = 0, p90_ms = 0, p95_ms = 0, p99_ms = 0, p999_ms = 0, max_ms = 0, mean_ms = 0;
  static LatencySummary of(const Histogram& h);
};

// One second of the measurement window.
struct SecondSample {
  double t_s = 0;  // end of the second, since the measurement started
  uint64_t sent = 0;
  uint64_t deliveries = 0;
  double p50_ms = 0, p99_ms = 0, max_ms = 0;  // delivery latency within the second
  double probe_p99_ms = 0;
  double loop_lag_p99_ms = -1;  // latest server stats; -1 when none came
  double cpu_pct = 0;           // the load generator's own CPU, % of one core
  double server_cpu_pct = -1;   // --server-pid: the server's CPU, % of one core
  uint64_t connections = 0;
};

struct LoadReport {
  LoadOptions options;
  double measured_s = 0;  // actual measurement window

  uint64_t connections_ok = 0, connections_failed = 0, connections_lost = 0;
  LatencySummary handshake;
  std::map<std::string, uint64_t> connect_errors;  // reason -> count
  uint64_t churn_cycles = 0, churn_failed = 0;

  uint64_t messages_sent = 0;
  uint64_t sends_refused = 0;  // local queue over its limit: the server stopped reading
  uint64_t deliveries_expected = 0, deliveries_received = 0, deliveries_lost = 0;
  double deliveries_per_s = 0;
  LatencySummary latency;

  uint64_t probes_sent = 0, probes_answered = 0;
  LatencySummary probe_rtt;

  bool server_stats_seen = false;
  double loop_lag_p50_ms = 0, loop_lag_p99_ms = 0, loop_lag_max_ms = 0;  // worst poll
  double server_rss_bytes_start = 0, server_rss_bytes_end = 0;
  double server_connections_end = 0;
  double rss_per_connection_bytes = 0;  // idle scenario
  // --server-pid: from /proc over the measurement window (drain included).
  double server_cpu_s = -1, server_cpu_pct = -1, server_cpu_us_per_delivery = -1;
  double server_proc_rss_bytes_start = -1, server_proc_rss_bytes_end = -1;

  // mix: fetches (answer time includes the target's fetch_delay_ms) and reminders
  // (lateness: arrival minus intended send + after_ms).
  uint64_t fetches_sent = 0, fetches_ok = 0, fetches_failed = 0, fetch_http_requests = 0;
  LatencySummary fetch_latency;
  uint64_t reminders_sent = 0, reminders_received = 0;
  LatencySummary reminder_lateness;

  std::map<int, uint64_t> close_codes;            // close frames received from the server
  std::map<std::string, uint64_t> server_errors;  // `error` frames by code

  double cpu_user_s = 0, cpu_system_s = 0, cpu_pct = 0;
  // Time runnable but waiting for a CPU, % of the window (/proc schedstat): how
  // much other work on the machine took the core. -1 when unknown.
  double run_delay_pct = -1, server_run_delay_pct = -1;
  bool cpu_saturated = false;

  std::vector<SecondSample> series;
  std::vector<std::string> slo_violations;

  // Values addressable from --slo.
  std::map<std::string, double> slo_metrics() const;
  nlohmann::json to_json() const;
  void print_summary(std::ostream& out) const;
  std::string svg_chart() const;
};

}  // namespace loopchat::load
