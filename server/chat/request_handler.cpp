#include "server/chat/request_handler.hpp"

#include "common/codec.hpp"
#include "server/ops/process_stats.hpp"
#include "server/wall_clock.hpp"

namespace loopchat {
namespace {

using protocol::ErrorCode;

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
  return protocol::Stats{metrics_.connections_open,
                         hub_.active_rooms(),
                         metrics_.messages_in,
                         metrics_.messages_out,
                         lag_.window(),
                         static_cast<std::int64_t>(metrics_.uptime_s()),
                         resident_bytes(),
                         id};
}

RequestHandler::Verdict RequestHandler::handle(Participant& from, ClientState& state,
                                               std::string_view frame) {
  protocol::DecodedRequest decoded = protocol::decode_request(frame, config_.rules);
  if (auto* error = std::get_if<protocol::Error>(&decoded)) {
    fail(from, *error);
    return Verdict::carry_on;
  }
  const protocol::Request& request = std::get<protocol::Request>(decoded);
  const protocol::RequestId& id = request.id;

  Outcome outcome =
      std::visit(Overloaded{
                     [&](const protocol::Join& r) { return hub_.join(from, r, id); },
                     [&](const protocol::Leave& r) { return hub_.leave(from, r, id); },
                     [&](const protocol::Nick& r) { return hub_.nick(from, r, id); },
                     [&](const protocol::Say& r) { return say(from, state, r, id); },
                     [&](const protocol::HistoryRequest& r) { return hub_.history(from, r, id); },
                     [&](const protocol::Ping&) -> Outcome {
                       hub_.send(from, protocol::Pong{wall_clock_ms(), id});
                       return std::nullopt;
                     },
                     [&](const protocol::StatsRequest&) -> Outcome {
                       hub_.send(from, stats(id));
                       return std::nullopt;
                     },
                     [&](const protocol::Remind& r) { return remind(from, r, id); },
                     [&](const protocol::Fetch& r) { return fetch(from, r, id); },
                 },
                 request.body);
  if (outcome) fail(from, *outcome);
  return Verdict::carry_on;
}

RequestHandler::Outcome RequestHandler::say(Participant& from, ClientState& state,
                                            const protocol::Say& request,
                                            const protocol::RequestId& id) {
  if (!state.say_bucket.try_take())
    return protocol::Error{ErrorCode::rate_limited,
                           "at most " + std::to_string(config_.rate_per_s) +
                               " messages a second (bursts of " + std::to_string(config_.burst) +
                               ")",
                           id};
  return hub_.say(from, request, id);
}

RequestHandler::Outcome RequestHandler::remind(Participant& from, const protocol::Remind& request,
                                               const protocol::RequestId& id) {
  if (!reminders_.schedule(from, std::chrono::milliseconds(request.after_ms), request.text, id))
    return protocol::Error{ErrorCode::too_many_timers,
                           "at most " + std::to_string(config_.max_timers_per_client) +
                               " pending reminders per connection",
                           id};
  return std::nullopt;
}

RequestHandler::Outcome RequestHandler::fetch(Participant& from, const protocol::Fetch& request,
                                              const protocol::RequestId& id) {
  if (request.room && !from.in_room(*request.room))
    return protocol::Error{ErrorCode::not_in_room, "join " + *request.room + " first", id};
  // forget() cancels the fetch when the connection goes, so `from` is alive
  // whenever the callback runs.
  auto failure = fetcher_.start(
      request.url, &from, [this, &from, room = request.room, id](FetchOutcome outcome) {
        if (auto* failed = std::get_if<FetchFailure>(&outcome))
          return fail(from, protocol::Error{failed->code, failed->message, id});
        auto& result = std::get<FetchResult>(outcome);
        hub_.send(from, protocol::Fetched{result.url, result.status, result.bytes, result.ms,
                                          result.title, id, result.truncated});
        if (room && from.in_room(*room)) {
          std::string preview = result.url + " — " + std::to_string(result.status);
          if (result.title) preview += ": " + *result.title;
          hub_.post(from, *room, std::move(preview), id);
        }
      });
  if (failure) return protocol::Error{failure->code, failure->message, id};
  return std::nullopt;
}

}  // namespace loopchat
