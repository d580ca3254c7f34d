// What every session shares: the settings, the counters, the chat state and
// the websocketpp endpoint. Owned by main() and outliving every session.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <unordered_set>

#include "server/config.hpp"
#include "server/transport/connections_per_source.hpp"
#include "server/ops/http_routes.hpp"
#include "server/chat/hub.hpp"
#include "server/ops/metrics.hpp"
#include "server/transport/write_flusher.hpp"

namespace loopchat {

class Session;
class RequestHandler;

struct ServerContext {
  const Config& config;
  Metrics& metrics;
  Hub& hub;
  RequestHandler& requests;
  const HttpRoutes& http;
  WriteFlusher& flusher;
  // Every live session, for shutdown. Non-owning: a session removes itself
  // when its socket closes.
  std::unordered_set<Session*> sessions;
  bool shutting_down = false;
  std::function<void()> on_drained;  // called when the last session ends during shutdown
  // Open connections by source address (--max-connections-per-ip).
  ConnectionsPerSource per_source{config.max_connections_per_ip, config.per_ip_exempt_cidrs};
};

}  // namespace loopchat
