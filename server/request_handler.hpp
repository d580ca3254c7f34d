// Turns one received text frame into the answer: decode and validate it with
// the shared codec, then dispatch the typed request to the part that owns it
// (the hub for chat, the connection's timers, the fetcher, the stats).
#pragma once

#include <chrono>
#include <string_view>

#include "common/protocol.hpp"
#include "server/config.hpp"
#include "server/hub.hpp"
#include "server/metrics.hpp"

namespace loopchat {

class RequestHandler {
 public:
  RequestHandler(const Config& config, Metrics& metrics, Hub& hub)
      : config_(config), metrics_(metrics), hub_(hub) {}

  void handle(Participant& from, std::string_view frame);

 private:
  void fail(Participant& to, const protocol::Error& error);
  protocol::Stats stats(const protocol::RequestId& id) const;

  const Config& config_;
  Metrics& metrics_;
  Hub& hub_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

}  // namespace loopchat
