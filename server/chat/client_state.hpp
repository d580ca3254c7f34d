// What a connection owns besides its socket and its place in the chat: the
// state its requests use (the cost budget, the `say` and presence rate
// limits). The session owns it; the request handler uses it.
#pragma once

#include <algorithm>
#include <cstddef>

#include "server/chat/token_bucket.hpp"
#include "server/config.hpp"

namespace loopchat {

// The cost budget follows --rate and --burst unless set: an operator who lets
// a connection say more lets it spend more (each say it may send is worth
// 100,000 units: a full 64 KiB frame and its fan-out to ~2,000 members).
inline constexpr double kBudgetUnitsPerSay = 100000;
inline double request_budget_per_s(const Config& c) {
  return c.request_budget_units_per_s > 0 ? c.request_budget_units_per_s
                                          : std::max(2e6, kBudgetUnitsPerSay * c.rate_per_s);
}
inline double request_burst(const Config& c) {
  return c.request_burst_units > 0 ? c.request_burst_units
                                   : std::max(4e6, kBudgetUnitsPerSay * c.burst);
}

struct ClientState {
  explicit ClientState(const Config& config)
      : budget(request_budget_per_s(config), request_burst(config)),
        say_bucket(config.rate_per_s, config.burst),
        presence_bucket(config.presence_rate_per_s, config.presence_burst) {}

  TokenBucket budget;  // in cost units, charged in arrears
  TokenBucket say_bucket;
  TokenBucket presence_bucket;     // join, leave, nick
  std::size_t refused_in_row = 0;  // requests refused by the budget since the last admitted one
};

}  // namespace loopchat
