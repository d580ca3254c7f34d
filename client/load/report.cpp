#include "client/load/report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace loopchat::load {

namespace {

double ms(uint64_t us) {
  return static_cast<double>(us) / 1000.0;
}

nlohmann::json summary_json(const LatencySummary& s) {
  return {{"count", s.count},   {"p50_ms", s.p50_ms},  {"p90_ms", s.p90_ms},
          {"p95_ms", s.p95_ms}, {"p99_ms", s.p99_ms},  {"p99_9_ms", s.p999_ms},
          {"max_ms", s.max_ms}, {"mean_ms", s.mean_ms}};
}

std::string fixed(double v, int decimals = 2) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string count_text(uint64_t v) {
  std::string digits = std::to_string(v), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

}  // namespace

LatencySummary LatencySummary::of(const Histogram& h) {
  LatencySummary s;
  s.count = h.count();
  s.p50_ms = ms(h.percentile(50));
  s.p90_ms = ms(h.percentile(90));
  s.p95_ms = ms(h.percentile(95));
  s.p99_ms = ms(h.percentile(99));
  s.p999_ms = ms(h.percentile(99.9));
  s.max_ms = ms(h.max());
  s.mean_ms = h.mean() / 1000.0;
  return s;
}

std::map<std::string, double> LoadReport::slo_metrics() const {
  std::map<std::string, double> m = {
      {"loss", static_cast<double>(deliveries_lost)},
      {"loss_pct", deliveries_expected ? 100.0 * static_cast<double>(deliveries_lost) /
                                             static_cast<double>(deliveries_expected)
                                       : 0.0},
      {"failed", static_cast<double>(connections_failed)},
      {"rate", deliveries_per_s},
  };
  if (latency.count) {
    m["p50"] = latency.p50_ms;
    m["p90"] = latency.p90_ms;
    m["p95"] = latency.p95_ms;
    m["p99"] = latency.p99_ms;
    m["p99.9"] = latency.p999_ms;
    m["max"] = latency.max_ms;
  }
  if (probe_rtt.count) {
    m["probe_p50"] = probe_rtt.p50_ms;
    m["probe_p99"] = probe_rtt.p99_ms;
    m["probe_max"] = probe_rtt.max_ms;
  }
  if (handshake.count) m["handshake_p99"] = handshake.p99_ms;
  if (fetch_latency.count) m["fetch_p99"] = fetch_latency.p99_ms;
  if (reminder_lateness.count) m["reminder_late_p99"] = reminder_lateness.p99_ms;
  if (options.scenario == Scenario::mix) m["fetch_failed"] = static_cast<double>(fetches_failed);
  if (server_stats_seen) m["loop_lag_p99"] = loop_lag_p99_ms;
  return m;
}

nlohmann::json LoadReport::to_json() const {
  const LoadOptions& o = options;
  nlohmann::json series_json = nlohmann::json::array();
  for (const auto& s : series) {
    series_json.push_back({{"t_s", s.t_s},
                           {"sent", s.sent},
                           {"deliveries", s.deliveries},
                           {"p50_ms", s.p50_ms},
                           {"p99_ms", s.p99_ms},
                           {"max_ms", s.max_ms},
                           {"probe_p99_ms", s.probe_p99_ms},
                           {"loop_lag_p99_ms", s.loop_lag_p99_ms},
                           {"cpu_pct", s.cpu_pct},
                           {"server_cpu_pct", s.server_cpu_pct},
                           {"connections", s.connections}});
  }
  nlohmann::json close_json = nlohmann::json::object();
  for (const auto& [code, n] : close_codes) close_json[std::to_string(code)] = n;
  return {
      {"version", 1},
      {"config",
       {{"url", o.url.text()},
        {"scenario", o.scenario_name},
        {"clients", o.clients},
        {"rooms", o.rooms},
        {"senders", o.senders},
        {"rate_per_sender", o.rate_per_sender},
        {"duration_s", o.duration_s},
        {"ramp_per_s", o.ramp_per_s},
        {"size_bytes", o.size_bytes},
        {"probe_interval_ms", o.probe_interval_ms},
        {"src_ips", o.src_ips},
        {"churn_per_s", o.churn_per_s},
        {"fetches", o.fetches},
        {"fetch_delay_ms", o.fetch_delay_ms},
        {"remind_per_s", o.remind_per_s},
        {"remind_after_ms", o.remind_after_ms},
        {"slo", o.slo_text}}},
      {"measured_s", measured_s},
      {"connections",
       {{"ok", connections_ok},
        {"failed", connections_failed},
        {"lost", connections_lost},
        {"errors", connect_errors},
        {"handshake", summary_json(handshake)},
        {"churn_cycles", churn_cycles},
        {"churn_failed", churn_failed}}},
      {"messages", {{"sent", messages_sent}, {"refused", sends_refused}}},
      {"deliveries",
       {{"expected", deliveries_expected},
        {"received", deliveries_received},
        {"lost", deliveries_lost},
        {"per_s", deliveries_per_s},
        {"latency", summary_json(latency)}}},
      {"probe",
       {{"sent", probes_sent}, {"answered", probes_answered}, {"rtt", summary_json(probe_rtt)}}},
      {"server",
       {{"stats_seen", server_stats_seen},
        {"loop_lag_p50_ms", loop_lag_p50_ms},
        {"loop_lag_p99_ms", loop_lag_p99_ms},
        {"loop_lag_max_ms", loop_lag_max_ms},
        {"rss_bytes_start", server_rss_bytes_start},
        {"rss_bytes_end", server_rss_bytes_end},
        {"connections_end", server_connections_end},
        {"rss_per_connection_bytes", rss_per_connection_bytes},
        {"pid", o.server_pid},
        {"cpu_s", server_cpu_s},
        {"cpu_pct", server_cpu_pct},
        {"cpu_us_per_delivery", server_cpu_us_per_delivery},
        {"run_delay_pct", server_run_delay_pct},
        {"proc_rss_bytes_start", server_proc_rss_bytes_start},
        {"proc_rss_bytes_end", server_proc_rss_bytes_end}}},
      {"mix",
       {{"fetches_sent", fetches_sent},
        {"fetches_ok", fetches_ok},
        {"fetches_failed", fetches_failed},
        {"fetch_http_requests", fetch_http_requests},
        {"fetch_latency", summary_json(fetch_latency)},
        {"reminders_sent", reminders_sent},
        {"reminders_received", reminders_received},
        {"reminder_lateness", summary_json(reminder_lateness)}}},
      {"close_codes", close_json},
      {"server_errors", server_errors},
      {"load_generator",
       {{"cpu_user_s", cpu_user_s},
        {"cpu_system_s", cpu_system_s},
        {"cpu_pct", cpu_pct},
        {"run_delay_pct", run_delay_pct},
        {"saturated", cpu_saturated}}},
      {"series", series_json},
      {"slo",
       {{"spec", o.slo_text}, {"violations", slo_violations}, {"ok", slo_violations.empty()}}},
  };
}

void LoadReport::print_summary(std::ostream& out) const {
  const LoadOptions& o = options;
  out << "loopchat-load " << o.scenario_name << " against " << o.url.text() << ": " << o.clients
      << " clients, " << o.rooms << " rooms, " << o.senders << " senders x " << o.rate_per_sender
      << "/s, " << o.size_bytes << " B, " << fixed(measured_s, 1) << " s\n";
  out << "  connections   ok " << connections_ok << ", failed " << connections_failed << ", lost "
      << connections_lost << "; handshake p50 " << fixed(handshake.p50_ms) << " ms, p99 "
      << fixed(handshake.p99_ms) << " ms, max " << fixed(handshake.max_ms) << " ms\n";
  for (const auto& [reason, n] : connect_errors)
    out << "    error: " << reason << " x" << n << "\n";
  if (o.scenario == Scenario::churn) {
    out << "  churn         cycles " << churn_cycles << ", failed " << churn_failed << "\n";
  }
  out << "  messages      sent " << count_text(messages_sent);
  if (sends_refused) out << ", refused " << count_text(sends_refused) << " (server not reading)";
  out << "\n";
  out << "  deliveries    expected " << count_text(deliveries_expected) << ", received "
      << count_text(deliveries_received) << ", lost " << count_text(deliveries_lost) << "; "
      << count_text(static_cast<uint64_t>(deliveries_per_s)) << "/s\n";
  out << "  latency       p50 " << fixed(latency.p50_ms) << " ms, p90 " << fixed(latency.p90_ms)
      << ", p99 " << fixed(latency.p99_ms) << ", p99.9 " << fixed(latency.p999_ms) << ", max "
      << fixed(latency.max_ms) << " ms\n";
  if (probes_sent) {
    out << "  probe RTT     p50 " << fixed(probe_rtt.p50_ms) << " ms, p99 "
        << fixed(probe_rtt.p99_ms) << ", max " << fixed(probe_rtt.max_ms) << " ms ("
        << probes_answered << "/" << probes_sent << " answered)\n";
  }
  if (server_stats_seen) {
    out << "  server        loop lag p50 " << fixed(loop_lag_p50_ms) << " ms, p99 "
        << fixed(loop_lag_p99_ms) << ", max " << fixed(loop_lag_max_ms) << " ms (worst poll)";
    if (server_rss_bytes_end > 0) {
      out << "; RSS " << fixed(server_rss_bytes_end / 1048576.0, 1) << " MiB";
    }
    out << "\n";
    if (o.scenario == Scenario::idle) {
      out << "  idle          " << fixed(rss_per_connection_bytes / 1024.0)
          << " KiB RSS per connection\n";
    }
  }
  if (o.scenario == Scenario::mix) {
    out << "  fetches       " << fetches_ok << " ok, " << fetches_failed << " failed of "
        << fetches_sent << " (" << o.fetches << " in flight, target delay " << o.fetch_delay_ms
        << " ms); answer p50 " << fixed(fetch_latency.p50_ms) << " ms, p99 "
        << fixed(fetch_latency.p99_ms) << ", max " << fixed(fetch_latency.max_ms) << " ms\n";
    out << "  reminders     " << reminders_received << "/" << reminders_sent << " fired; late p50 "
        << fixed(reminder_lateness.p50_ms) << " ms, p99 " << fixed(reminder_lateness.p99_ms)
        << ", max " << fixed(reminder_lateness.max_ms) << " ms\n";
  }
  if (server_cpu_s >= 0) {
    out << "  server /proc  CPU " << fixed(server_cpu_pct, 0) << "% of one core ("
        << fixed(server_cpu_s) << " s), " << fixed(server_cpu_us_per_delivery, 3)
        << " us per delivery; waited for a CPU " << fixed(server_run_delay_pct, 0) << "%; RSS "
        << fixed(server_proc_rss_bytes_end / 1048576.0, 1) << " MiB\n";
  }
  if (!close_codes.empty() || !server_errors.empty()) {
    out << "  seen         ";
    for (const auto& [code, n] : close_codes) out << " close " << code << " x" << n << ";";
    for (const auto& [code, n] : server_errors) out << " error " << code << " x" << n << ";";
    out << "\n";
  }
  out << "  load gen CPU  " << fixed(cpu_pct, 0) << "% of one core (user " << fixed(cpu_user_s)
      << " s, sys " << fixed(cpu_system_s) << " s); waited for a CPU " << fixed(run_delay_pct, 0)
      << "%\n";
  if (cpu_saturated) {
    out << "  WARNING: the load generator used over 90% of its core: the figures describe it, "
           "not the server\n";
  }
  for (const auto& v : slo_violations) out << "  SLO violated: " << v << "\n";
  if (!o.slo.empty() && slo_violations.empty()) out << "  SLO met: " << o.slo_text << "\n";
}

std::string LoadReport::svg_chart() const {
  // Two panels over time: latency percentiles (log scale) and deliveries/s.
  const double width = 900, panel = 220, left = 70, right = 20, top = 40, gap = 60;
  const double plot_w = width - left - right;
  const double height = top + panel * 2 + gap + 40;
  const double t_max = series.empty() ? 1.0 : std::max(1.0, series.back().t_s);
  double lat_max = 1.0, rate_max = 1.0;
  for (const auto& s : series) {
    lat_max = std::max({lat_max, s.max_ms, s.p99_ms});
    rate_max = std::max(rate_max, static_cast<double>(s.deliveries));
  }
  const double lat_min = 0.01;
  auto x_of = [&](double t) { return left + plot_w * t / t_max; };
  auto y_lat = [&](double v) {
    const double lv = std::log10(std::max(v, lat_min));
    const double lo = std::log10(lat_min), hi = std::log10(lat_max * 1.5);
    return top + panel * (1.0 - (lv - lo) / (hi - lo));
  };
  const double rate_top = top + panel + gap;
  auto y_rate = [&](double v) { return rate_top + panel * (1.0 - v / (rate_max * 1.1)); };

  std::ostringstream svg;
  svg << "<svg xmlns='http://www.w3.org/2000/svg' width='" << width << "' height='" << height
      << "' font-family='sans-serif' font-size='12'>\n"
      << "<rect width='100%' height='100%' fill='white'/>\n"
      << "<text x='" << left << "' y='20' font-size='14'>loopchat-load " << options.scenario_name
      << ": " << options.clients << " clients, " << options.rooms << " rooms, " << options.senders
      << " senders x " << options.rate_per_sender << "/s</text>\n";
  auto polyline = [&](auto value, auto y_of, const char* color) {
    svg << "<polyline fill='none' stroke='" << color << "' stroke-width='1.5' points='";
    for (const auto& s : series)
      svg << fixed(x_of(s.t_s), 1) << "," << fixed(y_of(value(s)), 1) << " ";
    svg << "'/>\n";
  };
  // Axes and grid.
  for (double v = lat_min; v <= lat_max * 1.5; v *= 10) {
    svg << "<line x1='" << left << "' x2='" << width - right << "' y1='" << fixed(y_lat(v), 1)
        << "' y2='" << fixed(y_lat(v), 1) << "' stroke='#ddd'/><text x='" << left - 5 << "' y='"
        << fixed(y_lat(v) + 4, 1) << "' text-anchor='end'>" << (v < 1 ? fixed(v, 2) : fixed(v, 0))
        << " ms</text>\n";
  }
  for (int i = 0; i <= 4; ++i) {
    const double v = rate_max * 1.1 * i / 4;
    svg << "<line x1='" << left << "' x2='" << width - right << "' y1='" << fixed(y_rate(v), 1)
        << "' y2='" << fixed(y_rate(v), 1) << "' stroke='#ddd'/><text x='" << left - 5 << "' y='"
        << fixed(y_rate(v) + 4, 1) << "' text-anchor='end'>" << count_text(static_cast<uint64_t>(v))
        << "</text>\n";
  }
  for (int i = 0; i <= 5; ++i) {
    const double t = t_max * i / 5;
    svg << "<text x='" << fixed(x_of(t), 1) << "' y='" << rate_top + panel + 18
        << "' text-anchor='middle'>" << fixed(t, 0) << " s</text>\n";
  }
  svg << "<text x='" << left << "' y='" << top - 5 << "'>delivery latency per second (log): "
      << "<tspan fill='#1f77b4'>p50</tspan> <tspan fill='#d62728'>p99</tspan> "
      << "<tspan fill='#999'>max</tspan></text>\n";
  svg << "<text x='" << left << "' y='" << rate_top - 5 << "'>deliveries per second</text>\n";
  polyline([](const SecondSample& s) { return s.max_ms; }, y_lat, "#999");
  polyline([](const SecondSample& s) { return s.p99_ms; }, y_lat, "#d62728");
  polyline([](const SecondSample& s) { return s.p50_ms; }, y_lat, "#1f77b4");
  polyline([](const SecondSample& s) { return static_cast<double>(s.deliveries); }, y_rate,
           "#2ca02c");
  svg << "</svg>\n";
  return svg.str();
}

}  // namespace loopchat::load
