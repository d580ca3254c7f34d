// The load generator's settings, one command line option each.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "client/load/slo.hpp"
#include "client/ws_url.hpp"

namespace loopchat::load {

enum class Scenario { chat, broadcast, idle, churn, mix };

struct LoadOptions {
  client::WsUrl url{"127.0.0.1", 8080, "/ws"};
  std::string url_text = "ws://127.0.0.1:8080/ws";
  Scenario scenario = Scenario::chat;
  std::string scenario_name = "chat";
  uint32_t clients = 100;
  uint32_t rooms = 10;
  std::string room_prefix = "load-";  // room r is PREFIX + r: several generators keep apart
  uint32_t senders = 10;
  double rate_per_sender = 10;  // say messages per second per sender, open loop
  double duration_s = 10;
  double ramp_per_s = 0;             // new connections per second; 0: as fast as allowed
  uint32_t size_bytes = 64;          // length of each say text
  uint32_t probe_interval_ms = 100;  // 0 disables the probe connection
  uint32_t src_ips = 0;              // 0: let the kernel pick; K: 127.0.0.1 .. 127.0.0.K
  double churn_per_s = 10;           // churn: connect+disconnect cycles per second
  uint32_t fetches = 100;            // mix: fetches kept in flight
  uint32_t fetch_delay_ms = 200;     // mix: the local HTTP target answers after this long
  double remind_per_s = 100;         // mix: remind requests per second, all clients together
  uint32_t remind_after_ms = 100;    // mix: after_ms of each remind
  int server_pid = 0;                // > 0: read the server's CPU and RSS from /proc (same host)
  std::vector<uint32_t> broadcast_steps;  // broadcast: client counts, run in turn
  double broadcast_p95_ms = 500;          // broadcast: a step passes under this p95, lossless
  std::string json_path;
  std::string chart_path;
  std::string slo_text;
  std::vector<SloCondition> slo;
  bool quiet = false;  // no progress line even on a terminal

  // Fixed limits, named so that a reader finds them here.
  uint32_t max_concurrent_handshakes = 256;
  uint32_t drain_ms = 2000;                    // wait for in-flight deliveries after the last send
  uint32_t setup_timeout_ms = 60000;           // connect+join phase, beyond what --ramp needs
  uint32_t stats_interval_ms = 1000;           // server `stats` polling on the probe connection
  uint32_t max_queue_bytes = 8 * 1024 * 1024;  // per connection, then sends are refused
  uint32_t fetch_answer_timeout_ms = 30000;    // mix: a fetch unanswered this long is failed
};

// Options, or the exit status to leave with (0 after --help, 2 on a bad
// option; the message is already printed).
std::variant<LoadOptions, int> parse_options(int argc, char** argv);

}  // namespace loopchat::load
