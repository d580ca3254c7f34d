// What the cluster tests share: a loopchat node on a test's Redis, and
// bounded waits for what a cluster settles asynchronously.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/chat_client.hpp"
#include "tests/support/redis_process.hpp"
#include "tests/support/server_process.hpp"

namespace loopchat::test {

inline std::unique_ptr<ServerProcess> node(const RedisProcess& redis,
                                           std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"--redis", redis.url(), "--quiet", "--rate",
                                   "100000",  "--burst",   "100000"};
  args.insert(args.end(), extra.begin(), extra.end());
  return std::make_unique<ServerProcess>(args);
}

// Waits (bounded) until `nodes` have subscribed to the room's channel.
inline void wait_subscribed(const RedisProcess& redis, const std::string& room, int nodes) {
  std::string want = ":" + std::to_string(nodes) + "\r\n";
  for (int i = 0; i < 500; ++i)
    if (redis.command({"PUBSUB", "NUMSUB", "loopchat:{" + room + "}"}).find(want) !=
        std::string::npos)
      return;
  FAIL() << nodes << " nodes never subscribed to " << room;
}

// Checks `condition` every 20 ms until it holds or `limit` has passed: for
// what a node learns on its heartbeat. Returns whether it came to hold.
inline asio::awaitable<bool> eventually(std::function<asio::awaitable<bool>()> condition,
                                        std::chrono::milliseconds limit) {
  asio::steady_timer pause(co_await asio::this_coro::executor);
  auto until = std::chrono::steady_clock::now() + limit;
  while (!co_await condition()) {
    if (std::chrono::steady_clock::now() > until) co_return false;
    pause.expires_after(std::chrono::milliseconds(20));
    co_await pause.async_wait(asio::use_awaitable);
  }
  co_return true;
}

}  // namespace loopchat::test
