#include "server/request_handler.hpp"

#include <chrono>

#include "common/codec.hpp"
#include "server/process_stats.hpp"

namespace loopchat {
namespace {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

template <typename... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};

}  // namespace

void RequestHandler::fail(Participant& to, const protocol::Error& error) {
  metrics_.count_error(error.code);
  hub_.send(to, error);
}

protocol::Stats RequestHandler::stats(const protocol::RequestId& id) const {
  auto uptime = std::chrono::steady_clock::now() - started_;
  return protocol::Stats{metrics_.connections_open,
                         hub_.active_rooms(),
                         metrics_.messages_in,
                         metrics_.messages_out,
                         {},
                         std::chrono::duration_cast<std::chrono::seconds>(uptime).count(),
                         resident_bytes(),
                         id};
}

void RequestHandler::handle(Participant& from, std::string_view frame) {
  protocol::DecodedRequest decoded = protocol::decode_request(frame, config_.rules);
  if (auto* error = std::get_if<protocol::Error>(&decoded)) return fail(from, *error);
  const protocol::Request& request = std::get<protocol::Request>(decoded);
  const protocol::RequestId& id = request.id;

  Hub::Outcome outcome =
      std::visit(Overloaded{
                     [&](const protocol::Join& r) { return hub_.join(from, r, id); },
                     [&](const protocol::Leave& r) { return hub_.leave(from, r, id); },
                     [&](const protocol::Nick& r) { return hub_.nick(from, r, id); },
                     [&](const protocol::Say& r) { return hub_.say(from, r, id); },
                     [&](const protocol::HistoryRequest& r) { return hub_.history(from, r, id); },
                     [&](const protocol::Ping&) -> Hub::Outcome {
                       hub_.send(from, protocol::Pong{now_ms(), id});
                       return std::nullopt;
                     },
                     [&](const protocol::StatsRequest&) -> Hub::Outcome {
                       hub_.send(from, stats(id));
                       return std::nullopt;
                     },
                     [&](const protocol::Remind&) -> Hub::Outcome {
                       return protocol::Error{protocol::ErrorCode::server_busy,
                                              "reminders are not enabled", id};
                     },
                     [&](const protocol::Fetch&) -> Hub::Outcome {
                       return protocol::Error{protocol::ErrorCode::fetch_denied,
                                              "fetches are not enabled", id};
                     },
                 },
                 request.body);
  if (outcome) fail(from, *outcome);
}

}  // namespace loopchat
