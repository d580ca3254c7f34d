// Plain HTTP on the WebSocket port: the page, /healthz, /metrics, 404.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "server/chat/hub.hpp"
#include "server/chat/reminder_queue.hpp"
#include "server/fetch/fetcher.hpp"
#include "server/ops/loop_lag_monitor.hpp"
#include "server/ops/metrics.hpp"

namespace loopchat {

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

class HttpRoutes {
 public:
  HttpRoutes(const Metrics& metrics, const Hub& hub, const ReminderQueue& reminders,
             const Fetcher& fetcher, const LoopLagMonitor& lag)
      : metrics_(metrics), hub_(hub), reminders_(reminders), fetcher_(fetcher), lag_(lag) {}
  HttpResponse route(std::string_view method, std::string_view target) const;

 private:
  const Metrics& metrics_;
  const Hub& hub_;
  const ReminderQueue& reminders_;
  const Fetcher& fetcher_;
  const LoopLagMonitor& lag_;
};

}  // namespace loopchat
