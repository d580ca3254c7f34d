#include "server/ops/http_routes.hpp"

#include "server/ops/process_stats.hpp"
#include "server/ops/web_assets.hpp"

namespace loopchat {

HttpResponse HttpRoutes::route(std::string_view method, std::string_view target) const {
  std::string_view path = target.substr(0, target.find('?'));
  if (method != "GET" && method != "HEAD")
    return {405, "text/plain; charset=utf-8", "method not allowed\n"};
  if (path == "/healthz") return {200, "text/plain; charset=utf-8", "ok"};
  if (path == "/metrics") {
    MetricsGauges gauges{.rooms = hub_.active_rooms(),
                         .rss_bytes = resident_bytes(),
                         .uptime_s = metrics_.uptime_s(),
                         .loop_lag_ms = lag_.window(),
                         .reminders_pending = reminders_.pending(),
                         .fetches_in_flight = fetcher_.in_flight(),
                         .fetches_started = fetcher_.counters().started,
                         .fetches_succeeded = fetcher_.counters().succeeded};
    return {200, "text/plain; version=0.0.4; charset=utf-8", render_prometheus(metrics_, gauges)};
  }
  if (const WebAsset* asset = find_web_asset(path))
    return {200, std::string(asset->content_type), std::string(asset->body)};
  if (path == "/ws") return {426, "text/plain; charset=utf-8", "upgrade to WebSocket here\n"};
  return {404, "text/plain; charset=utf-8", "not found\n"};
}

}  // namespace loopchat
