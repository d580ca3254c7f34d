// Turns one received text frame into the answer: decode and validate it with
// the shared codec, then dispatch the typed request to the part that owns it
// (the hub for chat, the connection's reminders, the fetcher, the stats).
// Every request is paid for from the connection's cost budget (ClientState;
// docs/security.md, "The cost model"): the frame's bytes before it is
// decoded, its answers and fan-out after it ran.
#pragma once

#include <chrono>
#include <string_view>

#include "common/protocol.hpp"
#include "server/auth/authenticator.hpp"
#include "server/chat/client_state.hpp"
#include "server/chat/hub.hpp"
#include "server/chat/reminder_queue.hpp"
#include "server/config.hpp"
#include "server/fetch/fetcher.hpp"
#include "server/ops/loop_lag_monitor.hpp"
#include "server/ops/metrics.hpp"

namespace loopchat {

class RequestHandler {
 public:
  RequestHandler(const Config& config, Metrics& metrics, Hub& hub, Authenticator& auth,
                 ReminderQueue& reminders, Fetcher& fetcher, const LoopLagMonitor& lag)
      : config_(config),
        metrics_(metrics),
        hub_(hub),
        auth_(auth),
        reminders_(reminders),
        fetcher_(fetcher),
        lag_(lag) {}

  // What the connection does after a request: a client that goes on sending
  // while refused (--max-refused-requests in a row) is closed with 1008.
  enum class Verdict { carry_on, close_over_budget };
  Verdict handle(Participant& from, ClientState& state, std::string_view frame);
  // The connection is going away: its reminders and fetches end unanswered.
  void forget(Participant& from) {
    reminders_.cancel_all(from);
    fetcher_.cancel_all(&from);
  }

  protocol::Stats stats(const protocol::RequestId& id) const;

 private:
  using Outcome = Hub::Outcome;
  // Runs a decoded request; `extra_units` gets what it costs beyond what the
  // hub queued for it.
  Outcome dispatch(Participant& from, ClientState& state, const protocol::Request& request,
                   double& extra_units);
  Verdict refuse(Participant& from, ClientState& state, std::size_t frame_bytes);
  Outcome say(Participant& from, ClientState& state, const protocol::Say& request,
              const protocol::RequestId& id);
  // join, leave and nick: refused beyond the connection's presence rate.
  Outcome presence_refused(ClientState& state, const protocol::RequestId& id);
  Outcome authenticate(Participant& from, const protocol::AuthRequest& request,
                       const protocol::RequestId& id);
  Outcome remind(Participant& from, const protocol::Remind& request, const protocol::RequestId& id);
  Outcome fetch(Participant& from, ClientState& state, const protocol::Fetch& request,
                const protocol::RequestId& id);
  void fail(Participant& to, const protocol::Error& error);
  // Charges `units` and what the hub queued since `before` to the budget.
  void charge(ClientState& state, const Hub::Work& before, double units);

  const Config& config_;
  Metrics& metrics_;
  Hub& hub_;
  Authenticator& auth_;
  ReminderQueue& reminders_;
  Fetcher& fetcher_;
  const LoopLagMonitor& lag_;
};

// The numbers `stats` and /metrics both show, read in one place.
MetricsGauges read_gauges(const Metrics& metrics, const Hub& hub, const ReminderQueue& reminders,
                          const Fetcher& fetcher, const LoopLagMonitor& lag);

}  // namespace loopchat
