// Reading the server's /metrics and waiting on its values, with deadlines.
#pragma once

#include <asio.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace loopchat::test {

// The value of the sample named exactly `series` (with its labels, e.g.
// `loopchat_limit_hits_total{limit="queue_bytes"}`), or nullopt.
std::optional<double> metric(std::uint16_t port, const std::string& series);

// Polls `condition` until it holds or `timeout` passes; returns whether it held.
bool eventually(const std::function<bool()>& condition,
                std::chrono::milliseconds timeout = std::chrono::seconds(10));

// The same on a test's event loop: the loop keeps running (clients keep
// writing) between polls.
asio::awaitable<bool> co_eventually(std::function<bool()> condition,
                                    std::chrono::milliseconds timeout = std::chrono::seconds(10));

std::string limit_hits(const std::string& limit);  // the series name of one limit

}  // namespace loopchat::test
