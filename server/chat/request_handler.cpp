#include "server/chat/request_handler.hpp"

#include <sstream>

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

// `stats` reads /proc/self/statm: three system calls, worth a few hundred
// bytes of decoding.
constexpr double kProcReadUnits = 256;

std::string number(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

}  // namespace

MetricsGauges read_gauges(const Metrics& metrics, const Hub& hub, const ReminderQueue& reminders,
                          const Fetcher& fetcher, const LoopLagMonitor& lag) {
  return MetricsGauges{.rooms = hub.active_rooms(),
                       .rss_bytes = resident_bytes(),
                       .uptime_s = metrics.uptime_s(),
                       .loop_lag_ms = lag.window(),
                       .reminders_pending = reminders.pending(),
                       .reminder_bytes = reminders.held_bytes(),
                       .history_bytes = hub.history_bytes(),
                       .fetches_in_flight = fetcher.in_flight(),
                       .fetches_started = fetcher.counters().started,
                       .fetches_succeeded = fetcher.counters().succeeded,
                       .store_enabled = hub.engine().durable(),
                       .store_degraded = !hub.engine().degraded().empty()};
}

void RequestHandler::fail(Participant& to, const protocol::Error& error) {
  metrics_.count_error(error.code);
  hub_.send(to, error);
}

protocol::Stats RequestHandler::stats(const protocol::RequestId& id) const {
  MetricsGauges gauges = read_gauges(metrics_, hub_, reminders_, fetcher_, lag_);
  // Connections and rooms as far as the engine sees (a cluster's); the rest is this process's.
  Engine::Totals totals = hub_.engine().totals({metrics_.connections_open, gauges.rooms});
  return protocol::Stats{totals.connections,   totals.rooms,
                         metrics_.messages_in, metrics_.messages_out,
                         gauges.loop_lag_ms,   static_cast<std::int64_t>(gauges.uptime_s),
                         gauges.rss_bytes,     id};
}

void RequestHandler::charge(ClientState& state, const Hub::Work& before, double units) {
  const Hub::Work& after = hub_.work();
  state.budget.charge(units + double(after.answer_bytes - before.answer_bytes) +
                      double(after.deliveries - before.deliveries) *
                          double(config_.cost_per_delivery_units));
}

RequestHandler::Verdict RequestHandler::handle(Participant& from, ClientState& state,
                                               std::string_view frame) {
  // Refused before it is decoded: a client over its budget costs the loop
  // its frame's parsing by websocketpp and a short answer, no more.
  if (!state.budget.has_credit()) return refuse(from, state, frame.size());
  state.refused_in_row = 0;
  Hub::Work before = hub_.work();
  double extra_units = 0;
  protocol::DecodedRequest decoded = protocol::decode_request(frame, config_.rules);
  if (auto* error = std::get_if<protocol::Error>(&decoded))
    fail(from, *error);
  else if (Outcome outcome =
               dispatch(from, state, std::get<protocol::Request>(decoded), extra_units))
    fail(from, *outcome);
  charge(state, before, double(frame.size() + config_.cost_per_request_units) + extra_units);
  return Verdict::carry_on;
}

// Each refusal is charged too, so a client that keeps sending stays refused;
// one past --max-refused-requests in a row is closed.
RequestHandler::Verdict RequestHandler::refuse(Participant& from, ClientState& state,
                                               std::size_t frame_bytes) {
  metrics_.count_limit(Limit::request_budget);
  if (state.refused_in_row >= config_.max_refused_requests) {
    metrics_.count_limit(Limit::over_budget);
    return Verdict::close_over_budget;
  }
  ++state.refused_in_row;
  Hub::Work before = hub_.work();
  // Not decoded, so the request's id is not known.
  fail(from, protocol::Error{ErrorCode::rate_limited,
                             "over the request budget (" + number(request_budget_per_s(config_)) +
                                 " units a second): request not run",
                             {}});
  charge(state, before, double(frame_bytes + config_.cost_per_request_units));
  return Verdict::carry_on;
}

RequestHandler::Outcome RequestHandler::dispatch(Participant& from, ClientState& state,
                                                 const protocol::Request& request,
                                                 double& extra_units) {
  const protocol::RequestId& id = request.id;
  return std::visit(
      Overloaded{
          [&](const protocol::Join& r) {
            if (Outcome refused = presence_refused(state, id)) return refused;
            return hub_.join(from, r, id);
          },
          [&](const protocol::Leave& r) {
            if (Outcome refused = presence_refused(state, id)) return refused;
            return hub_.leave(from, r, id);
          },
          [&](const protocol::Nick& r) {
            if (Outcome refused = presence_refused(state, id)) return refused;
            return hub_.nick(from, r, id);
          },
          [&](const protocol::Say& r) { return say(from, state, r, id); },
          [&](const protocol::HistoryRequest& r) { return hub_.history(from, r, id); },
          [&](const protocol::Ping&) -> Outcome {
            hub_.send(from, protocol::Pong{wall_clock_ms(), id});
            return std::nullopt;
          },
          [&](const protocol::StatsRequest&) -> Outcome {
            extra_units = kProcReadUnits;
            hub_.send(from, stats(id));
            return std::nullopt;
          },
          [&](const protocol::Remind& r) {
            // The memory it holds until it fires, and its answer then.
            extra_units = double(ReminderQueue::held_bytes(r.text));
            return remind(from, r, id);
          },
          [&](const protocol::Fetch& r) { return fetch(from, state, r, id); },
          [&](const protocol::AuthRequest& r) { return authenticate(from, r, id); },
          [&](const protocol::WhoRequest& r) {
            // Sorting a room's names costs what the room's size does: paced
            // like presence, and paid by the answer's bytes.
            if (Outcome refused = presence_refused(state, id)) return refused;
            return hub_.who(from, r, id);
          },
      },
      request.body);
}

// A fresh token for the same user: the connection stays open past the old
// token's end, with the new token's rooms.
RequestHandler::Outcome RequestHandler::authenticate(Participant& from,
                                                     const protocol::AuthRequest& request,
                                                     const protocol::RequestId& id) {
  if (!auth_.enabled())
    return protocol::Error{ErrorCode::bad_request, "authentication is off on this server", id};
  auto checked = auth_.check(request.token);
  if (auto* why = std::get_if<std::string>(&checked))
    return protocol::Error{ErrorCode::forbidden, "token refused: " + *why, id};
  GrantPtr grant = std::get<GrantPtr>(std::move(checked));
  if (grant->name != from.name)
    return protocol::Error{ErrorCode::forbidden,
                           "that token is " + grant->name + "'s, this connection is " + from.name,
                           id};
  auth_.grant(from, grant);
  hub_.send(from, protocol::Authenticated{grant->name, grant->expires, id});
  return std::nullopt;
}

RequestHandler::Outcome RequestHandler::presence_refused(ClientState& state,
                                                         const protocol::RequestId& id) {
  if (state.presence_bucket.try_take()) return std::nullopt;
  metrics_.count_limit(Limit::presence_rate);
  return protocol::Error{ErrorCode::rate_limited,
                         "at most " + number(config_.presence_rate_per_s) +
                             " joins, leaves and nick changes a second (bursts of " +
                             number(config_.presence_burst) + ")",
                         id};
}

RequestHandler::Outcome RequestHandler::say(Participant& from, ClientState& state,
                                            const protocol::Say& request,
                                            const protocol::RequestId& id) {
  if (!state.say_bucket.try_take())
    return protocol::Error{ErrorCode::rate_limited,
                           "at most " + number(config_.rate_per_s) +
                               " messages a second (bursts of " + number(config_.burst) + ")",
                           id};
  return hub_.say(from, request, id);
}

RequestHandler::Outcome RequestHandler::remind(Participant& from, const protocol::Remind& request,
                                               const protocol::RequestId& id) {
  if (reminders_.held_bytes() + ReminderQueue::held_bytes(request.text) >
      config_.max_reminder_bytes) {
    metrics_.count_limit(Limit::reminder_bytes);
    return protocol::Error{ErrorCode::server_busy,
                           "the server holds its maximum of pending reminders (" +
                               std::to_string(config_.max_reminder_bytes) + " bytes)",
                           id};
  }
  if (!reminders_.schedule(from, std::chrono::milliseconds(request.after_ms), request.text, id))
    return protocol::Error{ErrorCode::too_many_timers,
                           "at most " + std::to_string(config_.max_timers_per_client) +
                               " pending reminders per connection",
                           id};
  return std::nullopt;
}

RequestHandler::Outcome RequestHandler::fetch(Participant& from, ClientState& state,
                                              const protocol::Fetch& request,
                                              const protocol::RequestId& id) {
  if (request.room && !from.in_room(*request.room))
    return protocol::Error{ErrorCode::not_in_room, "join " + *request.room + " first", id};
  // forget() cancels the fetch when the connection goes, so `from` and its
  // state are alive whenever the callback runs.
  auto failure = fetcher_.start(
      request.url, &from, [this, &from, &state, room = request.room, id](FetchOutcome outcome) {
        Hub::Work before = hub_.work();
        double body_bytes = 0;
        if (auto* failed = std::get_if<FetchFailure>(&outcome)) {
          fail(from, protocol::Error{failed->code, failed->message, id});
        } else {
          auto& result = std::get<FetchResult>(outcome);
          body_bytes = double(result.bytes);  // read and scanned for a title on the loop
          hub_.send(from, protocol::Fetched{result.url, result.status, result.bytes, result.ms,
                                            result.title, id, result.truncated});
          if (room && from.in_room(*room)) {
            std::string preview = result.url + " — " + std::to_string(result.status);
            if (result.title) preview += ": " + *result.title;
            hub_.post(from, *room, std::move(preview), id);
          }
        }
        charge(state, before, body_bytes);
      });
  if (failure) return protocol::Error{failure->code, failure->message, id};
  return std::nullopt;
}

}  // namespace loopchat
