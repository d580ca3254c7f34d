// What every connection shares: the settings, the counters, the chat state,
// the write flusher and the deadlines. Owned by main() and outliving every
// connection.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <unordered_set>

#include "server/auth/authenticator.hpp"
#include "server/auth/origin_policy.hpp"
#include "server/chat/hub.hpp"
#include "server/config.hpp"
#include "server/fetch/address_policy.hpp"
#include "server/ops/http_routes.hpp"
#include "server/ops/metrics.hpp"
#include "server/transport/connections_per_source.hpp"
#include "server/transport/deadline_lanes.hpp"
#include "server/transport/write_flusher.hpp"

namespace loopchat {

class Connection;
class RequestHandler;

struct ServerContext {
  const Config& config;
  Metrics& metrics;
  Hub& hub;
  RequestHandler& requests;
  const HttpRoutes& http;
  WriteFlusher& flusher;
  DeadlineLanes& deadlines;
  Authenticator& auth;
  const OriginPolicy& origins;
  const std::vector<Cidr>& trusted_proxies;
  // Every live connection, for shutdown. Non-owning: a connection removes
  // itself when its socket closes.
  std::unordered_set<Connection*> connections;
  bool shutting_down = false;
  std::function<void()> on_drained;  // called when the last connection ends during shutdown
  // Open connections by source address (--max-connections-per-ip).
  ConnectionsPerSource per_source{config.max_connections_per_ip, config.per_ip_exempt_cidrs};
};

}  // namespace loopchat
