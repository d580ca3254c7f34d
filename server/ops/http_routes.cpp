#include "server/ops/http_routes.hpp"

#include "server/chat/request_handler.hpp"
#include "server/ops/web_assets.hpp"

namespace loopchat {

HttpResponse HttpRoutes::route(std::string_view method, std::string_view target) const {
  std::string_view path = target.substr(0, target.find('?'));
  if (method != "GET" && method != "HEAD")
    return {405, "text/plain; charset=utf-8", "method not allowed\n"};
  // Degraded still answers 200: the server chats (from memory); the body says
  // what is wrong, for a person or a probe that reads it.
  if (path == "/healthz") {
    std::string degraded = hub_.engine().degraded();
    return {200, "text/plain; charset=utf-8",
            degraded.empty() ? std::string("ok") : "degraded: history not stored: " + degraded};
  }
  if (path == "/metrics") {
    return {200, "text/plain; version=0.0.4; charset=utf-8",
            render_prometheus(metrics_, read_gauges(metrics_, hub_, reminders_, fetcher_, lag_))};
  }
  if (const WebAsset* asset = find_web_asset(path))
    return {200, std::string(asset->content_type), std::string(asset->body)};
  if (path == "/ws") return {426, "text/plain; charset=utf-8", "upgrade to WebSocket here\n"};
  return {404, "text/plain; charset=utf-8", "not found\n"};
}

}  // namespace loopchat
