// Service-level objectives given on the command line, e.g.
// `p99<50ms,loss=0`: the run exits with status 1 when one is violated.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace loopchat::load {

struct SloCondition {
  std::string metric;  // one of slo_metric_names()
  std::string op;      // <, <=, >, >=, =
  double value = 0;    // in the metric's unit: ms for times, a count or a percentage
  std::string text;    // as written, for messages
};

// The names a condition may use, with what each measures and its unit.
const std::map<std::string, std::string>& slo_metric_names();

// The conditions, or a message saying what is wrong.
std::variant<std::vector<SloCondition>, std::string> parse_slo(std::string_view spec);

// A message per violated condition; a metric absent from `measured` counts
// as violated (the run could not measure it).
std::vector<std::string> check_slo(const std::vector<SloCondition>& conditions,
                                   const std::map<std::string, double>& measured);

}  // namespace loopchat::load
