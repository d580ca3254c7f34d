#include "client/load/options.hpp"

#include <CLI/CLI.hpp>
#include <iostream>

#include "common/codec.hpp"

namespace loopchat::load {

std::variant<LoadOptions, int> parse_options(int argc, char** argv) {
  LoadOptions o;
  CLI::App app{
      "loopchat-load: opens many WebSocket connections to a chat server speaking loopchat "
      "protocol v1, chats at a fixed open-loop rate and reports delivery latency, loss and "
      "server responsiveness. Single-threaded.",
      "loopchat-load"};
  app.add_option("--url", o.url_text, "server WebSocket URL")->capture_default_str();
  app.add_option("--scenario", o.scenario_name, "chat | broadcast | idle | churn | mix")
      ->check(CLI::IsMember({"chat", "broadcast", "idle", "churn", "mix"}))
      ->capture_default_str();
  app.add_option("-c,--clients", o.clients, "connections that join rooms and receive")
      ->check(CLI::Range(1u, 1000000u))
      ->capture_default_str();
  app.add_option("-r,--rooms", o.rooms, "rooms; client i joins room i % R")
      ->check(CLI::Range(1u, 1000000u))
      ->capture_default_str();
  app.add_option("--room-prefix", o.room_prefix,
                 "room r is named PREFIX + r: generators run side by side with different prefixes "
                 "measure their own rooms")
      ->check([](const std::string& prefix) {
        return protocol::valid_room_name(prefix + "999999")
                   ? std::string()
                   : "letters, digits, - _ . only, and short enough for a room name";
      })
      ->capture_default_str();
  app.add_option("-s,--senders", o.senders, "clients that also send (the first S)")
      ->check(CLI::Range(0u, 1000000u))
      ->capture_default_str();
  app.add_option("--rate", o.rate_per_sender, "say messages per second per sender (open loop)")
      ->check(CLI::Range(0.0, 1e6))
      ->capture_default_str();
  app.add_option("-d,--duration", o.duration_s, "measurement time in seconds")
      ->check(CLI::Range(0.1, 86400.0))
      ->capture_default_str();
  app.add_option("--ramp", o.ramp_per_s, "new connections per second (0: as fast as allowed)")
      ->check(CLI::Range(0.0, 1e7))
      ->capture_default_str();
  app.add_option("--size", o.size_bytes, "bytes of each say text (at least the marker)")
      ->check(CLI::Range(1u, 1u << 20))
      ->capture_default_str();
  app.add_option("--probe-interval-ms", o.probe_interval_ms,
                 "one extra connection sends a protocol ping this often (0: no probe)")
      ->capture_default_str();
  app.add_option("--src-ips", o.src_ips,
                 "bind connections round-robin to 127.0.0.1 .. 127.0.0.K (loopback servers)")
      ->check(CLI::Range(0u, 254u))
      ->capture_default_str();
  app.add_option("--churn-rate", o.churn_per_s, "churn: connect/disconnect cycles per second")
      ->check(CLI::Range(0.0, 1e6))
      ->capture_default_str();
  app.add_option("--fetches", o.fetches, "mix: fetches kept in flight (local delayed HTTP target)")
      ->check(CLI::Range(0u, 100000u))
      ->capture_default_str();
  app.add_option("--fetch-delay-ms", o.fetch_delay_ms, "mix: the HTTP target answers after this")
      ->check(CLI::Range(0u, 600000u))
      ->capture_default_str();
  app.add_option("--remind-rate", o.remind_per_s, "mix: remind requests per second in all")
      ->check(CLI::Range(0.0, 1e6))
      ->capture_default_str();
  app.add_option("--remind-after-ms", o.remind_after_ms, "mix: after_ms of each remind")
      ->check(CLI::Range(0u, 3600000u))
      ->capture_default_str();
  app.add_option("--server-pid", o.server_pid,
                 "the server's process id on this host: report its CPU time per delivery and "
                 "RSS from /proc")
      ->check(CLI::Range(0, 1 << 30))
      ->capture_default_str();
  app.add_option("--steps", o.broadcast_steps,
                 "broadcast: client counts run in turn (e.g. 1000,2000,5000), stopping at the "
                 "first whose p95 reaches --step-p95-ms or that loses a delivery")
      ->delimiter(',');
  app.add_option("--step-p95-ms", o.broadcast_p95_ms, "broadcast: the p95 limit of a step")
      ->capture_default_str();
  app.add_option("--json", o.json_path, "write the full report as JSON to this file");
  app.add_option("--chart", o.chart_path, "write an SVG chart of latency and rate over time");
  app.add_option("--slo", o.slo_text, "objectives, e.g. 'p99<50ms,loss=0': exit 1 if violated");
  app.add_flag("-q,--quiet", o.quiet, "no progress line");

  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    app.exit(e);
    return 0;
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  }

  auto url = client::WsUrl::parse_or_error(o.url_text);
  if (auto* error = std::get_if<std::string>(&url)) {
    std::cerr << "loopchat-load: --url: " << *error << "\n";
    return 2;
  }
  o.url = std::get<client::WsUrl>(url);
  if (o.senders > o.clients) {
    std::cerr << "loopchat-load: --senders (" << o.senders << ") exceeds --clients (" << o.clients
              << ")\n";
    return 2;
  }
  if (!o.slo_text.empty()) {
    auto slo = parse_slo(o.slo_text);
    if (auto* error = std::get_if<std::string>(&slo)) {
      std::cerr << "loopchat-load: --slo: " << *error << "\n";
      return 2;
    }
    o.slo = std::get<std::vector<SloCondition>>(slo);
  }
  if (o.scenario_name == "broadcast") {
    // Everyone in one room, one voice: the fan-out cost alone.
    o.scenario = Scenario::broadcast;
    o.rooms = 1;
    o.senders = std::min<uint32_t>(o.senders, 1);
    if (o.senders == 0) o.senders = 1;
  } else if (o.scenario_name == "idle") {
    o.scenario = Scenario::idle;
    o.senders = 0;
  } else if (o.scenario_name == "churn") {
    o.scenario = Scenario::churn;
  } else if (o.scenario_name == "mix") {
    o.scenario = Scenario::mix;
  }
  return o;
}

}  // namespace loopchat::load
