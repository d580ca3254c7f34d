#include "client/cli/backoff.hpp"

#include <algorithm>

namespace loopchat::cli {

Backoff::Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max,
                 std::uint64_t seed)
    : initial_(initial), max_(std::max(max, initial)), random_(seed) {}

std::chrono::milliseconds Backoff::next() {
  std::int64_t ceiling = initial_.count();
  for (unsigned i = 0; i < attempts_ && ceiling < max_.count(); ++i) ceiling *= 2;
  ceiling = std::min<std::int64_t>(ceiling, max_.count());
  ++attempts_;
  std::uniform_int_distribution<std::int64_t> pick(ceiling / 2, ceiling);
  return std::chrono::milliseconds(pick(random_));
}

}  // namespace loopchat::cli
