// What a connection owns besides its socket and its place in the chat: the
// state its requests use (the `say` rate limit). The session owns it; the
// request handler uses it.
#pragma once

#include "server/chat/token_bucket.hpp"
#include "server/config.hpp"

namespace loopchat {

struct ClientState {
  explicit ClientState(const Config& config) : say_bucket(config.rate_per_s, config.burst) {}

  TokenBucket say_bucket;
};

}  // namespace loopchat
