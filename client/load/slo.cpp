#include "client/load/slo.hpp"

#include <charconv>
#include <cmath>
#include <sstream>

namespace loopchat::load {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

bool is_time_metric(const std::string& metric) {
  return metric != "loss" && metric != "loss_pct" && metric != "failed" && metric != "rate" &&
         metric != "fetch_failed";
}

std::string format(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

}  // namespace

const std::map<std::string, std::string>& slo_metric_names() {
  static const std::map<std::string, std::string> names = {
      {"p50", "delivery latency p50 (ms)"},
      {"p90", "delivery latency p90 (ms)"},
      {"p95", "delivery latency p95 (ms)"},
      {"p99", "delivery latency p99 (ms)"},
      {"p99.9", "delivery latency p99.9 (ms)"},
      {"max", "delivery latency max (ms)"},
      {"probe_p50", "probe RTT p50 (ms)"},
      {"probe_p99", "probe RTT p99 (ms)"},
      {"probe_max", "probe RTT max (ms)"},
      {"handshake_p99", "handshake time p99 (ms)"},
      {"fetch_p99", "mix: fetch answer time p99, target delay included (ms)"},
      {"fetch_failed", "mix: fetches failed (count)"},
      {"reminder_late_p99", "mix: reminder lateness p99 (ms)"},
      {"loop_lag_p99", "server loop lag p99, worst poll (ms)"},
      {"loss", "deliveries lost (count)"},
      {"loss_pct", "deliveries lost (% of expected)"},
      {"failed", "connections failed (count)"},
      {"rate", "deliveries per second"},
  };
  return names;
}

std::variant<std::vector<SloCondition>, std::string> parse_slo(std::string_view spec) {
  std::vector<SloCondition> out;
  size_t start = 0;
  while (start <= spec.size()) {
    size_t comma = spec.find(',', start);
    if (comma == std::string_view::npos) comma = spec.size();
    const std::string_view item = trim(spec.substr(start, comma - start));
    start = comma + 1;
    if (item.empty()) continue;
    const size_t op_at = item.find_first_of("<>=");
    if (op_at == std::string_view::npos) {
      return "bad SLO '" + std::string(item) + "': expected METRIC<VALUE, e.g. p99<50ms";
    }
    SloCondition c;
    c.text = std::string(item);
    c.metric = std::string(trim(item.substr(0, op_at)));
    size_t value_at = op_at + 1;
    if (value_at < item.size() && item[value_at] == '=' && item[op_at] != '=') ++value_at;
    c.op = std::string(item.substr(op_at, value_at - op_at));
    if (!slo_metric_names().count(c.metric)) {
      std::string known;
      for (const auto& [name, what] : slo_metric_names())
        known += (known.empty() ? "" : ", ") + name;
      return "bad SLO '" + c.text + "': unknown metric '" + c.metric + "' (known: " + known + ")";
    }
    std::string_view value = trim(item.substr(value_at));
    double scale = 1.0;
    if (is_time_metric(c.metric)) {
      if (value.ends_with("ms")) {
        value.remove_suffix(2);
      } else if (value.ends_with("us")) {
        value.remove_suffix(2);
        scale = 0.001;
      } else if (value.ends_with("s")) {
        value.remove_suffix(1);
        scale = 1000.0;
      }
    } else if (value.ends_with("%")) {
      if (c.metric != "loss_pct") return "bad SLO '" + c.text + "': '%' only fits loss_pct";
      value.remove_suffix(1);
    }
    double number = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), number);
    if (value.empty() || ec != std::errc() || end != value.data() + value.size() ||
        !std::isfinite(number)) {
      return "bad SLO '" + c.text + "': bad number '" + std::string(value) + "'";
    }
    c.value = number * scale;
    out.push_back(std::move(c));
  }
  if (out.empty()) return std::string("empty SLO");
  return out;
}

std::vector<std::string> check_slo(const std::vector<SloCondition>& conditions,
                                   const std::map<std::string, double>& measured) {
  std::vector<std::string> violations;
  for (const auto& c : conditions) {
    const auto it = measured.find(c.metric);
    if (it == measured.end()) {
      violations.push_back(c.text + ": not measured in this run");
      continue;
    }
    const double v = it->second;
    bool ok = false;
    if (c.op == "<") ok = v < c.value;
    if (c.op == "<=") ok = v <= c.value;
    if (c.op == ">") ok = v > c.value;
    if (c.op == ">=") ok = v >= c.value;
    if (c.op == "=" || c.op == "==") ok = v == c.value;
    if (!ok) violations.push_back(c.text + ": measured " + format(v));
  }
  return violations;
}

}  // namespace loopchat::load
