#include "tests/robustness/metrics_probe.hpp"

#include <poll.h>

#include "tests/support/server_process.hpp"

namespace loopchat::test {

std::optional<double> metric(std::uint16_t port, const std::string& series) {
  std::string body = http_get(port, "/metrics").body;
  auto at = body.find("\n" + series + " ");
  if (at == std::string::npos) return std::nullopt;
  return std::stod(body.substr(at + series.size() + 2));
}

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    ::poll(nullptr, 0, 10);  // the condition is polled: there is nothing to wait on
  }
  return true;
}

asio::awaitable<bool> co_eventually(std::function<bool()> condition,
                                    std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) co_return false;
    timer.expires_after(std::chrono::milliseconds(10));
    co_await timer.async_wait(asio::use_awaitable);
  }
  co_return true;
}

std::string limit_hits(const std::string& limit) {
  return "loopchat_limit_hits_total{limit=\"" + limit + "\"}";
}

}  // namespace loopchat::test
