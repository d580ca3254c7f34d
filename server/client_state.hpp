// What a connection owns besides its socket and its place in the chat: the
// state its requests use (reminders, the `say` rate limit). The session owns
// it; the request handler uses it.
#pragma once

#include "server/config.hpp"
#include "server/reminders.hpp"
#include "server/token_bucket.hpp"

namespace loopchat {

struct ClientState {
  ClientState(asio::any_io_executor executor, const Config& config)
      : reminders(std::move(executor), config.max_timers_per_client),
        say_bucket(config.rate_per_s, config.burst) {}

  Reminders reminders;
  TokenBucket say_bucket;
};

}  // namespace loopchat
