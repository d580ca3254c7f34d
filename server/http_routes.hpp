// Plain HTTP on the WebSocket port: the page, /healthz, /metrics, 404.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "server/hub.hpp"
#include "server/metrics.hpp"

namespace loopchat {

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

class HttpRoutes {
 public:
  HttpRoutes(const Metrics& metrics, const Hub& hub) : metrics_(metrics), hub_(hub) {}
  HttpResponse route(std::string_view method, std::string_view target) const;

 private:
  const Metrics& metrics_;
  const Hub& hub_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

}  // namespace loopchat
