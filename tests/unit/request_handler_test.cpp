// RequestHandler: what each request costs the connection's budget, the
// refusals beyond it and the close after too many, the presence rate, the
// server-wide reminder bytes, and one source for `stats` and /metrics.
#include "server/chat/request_handler.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "common/codec.hpp"
#include "server/engine/local_engine.hpp"
#include "tests/unit/fake_participant.hpp"

namespace loopchat {
namespace {

using fakes::FakeParticipant;
using protocol::ErrorCode;
using Verdict = RequestHandler::Verdict;

// A budget that refills so slowly that a test sees only what it spends.
constexpr double kNoRefill = 1e-6;

class RequestHandlerTest : public ::testing::Test {
 protected:
  RequestHandlerTest() {
    config.quiet = true;
    config.request_budget_units_per_s = kNoRefill;
    config.request_burst_units = 1e9;
  }

  FakeParticipant& connect() {
    people.push_back(std::make_unique<FakeParticipant>());
    hub.connect(*people.back());
    people.back()->clear();
    return *people.back();
  }
  // The errors answered to `p`, in order.
  static std::vector<protocol::Error> errors(const FakeParticipant& p) {
    return p.events_of<protocol::Error>();
  }
  std::uint64_t hits(Limit limit) const { return metrics.limit_hits[static_cast<int>(limit)]; }

  Config config;
  Metrics metrics;
  asio::io_context io;
  LocalEngine engine{config, metrics, nullptr};
  Hub hub{config, metrics, engine};
  ReminderQueue reminders{io, config.max_timers_per_client,
                          [](Participant&, const std::string&, const protocol::RequestId&,
                             std::chrono::milliseconds) {}};
  Fetcher fetcher{io, config.fetch, config.dns};
  LoopLagMonitor lag{io};
  Authenticator auth{io};
  RequestHandler handler{config, metrics, hub, auth, reminders, fetcher, lag};
  std::vector<std::unique_ptr<FakeParticipant>> people;
};

TEST(RequestBudget, DefaultsFollowTheSayRate) {
  Config config;
  EXPECT_EQ(request_budget_per_s(config), 2e6);
  EXPECT_EQ(request_burst(config), 4e6);
  config.rate_per_s = 1e6;
  config.burst = 1e6;
  EXPECT_EQ(request_budget_per_s(config), 1e11) << "--rate raised, the budget with it";
  EXPECT_EQ(request_burst(config), 1e11);
  config.rate_per_s = 1;
  EXPECT_EQ(request_budget_per_s(config), 2e6) << "never below the floor";
  config.request_budget_units_per_s = 5;
  config.request_burst_units = 7;
  EXPECT_EQ(request_budget_per_s(config), 5);
  EXPECT_EQ(request_burst(config), 7);
}

TEST_F(RequestHandlerTest, ARequestCostsItsBytesItsAnswerAndItsFanOut) {
  FakeParticipant& from = connect();
  std::vector<FakeParticipant*> members;
  for (int i = 0; i < 10; ++i) {
    members.push_back(&connect());
    ASSERT_FALSE(hub.join(*members.back(), protocol::Join{"r"}, {}));
  }
  ASSERT_FALSE(hub.join(from, protocol::Join{"r"}, {}));
  ClientState state(config);

  double balance = state.budget.balance();
  std::string say = R"({"type":"say","room":"r","text":"hello"})";
  ASSERT_EQ(handler.handle(from, state, say), Verdict::carry_on);
  double per_request = double(config.cost_per_request_units);
  double fan_out = 11.0 * double(config.cost_per_delivery_units);  // the sender's copy too
  EXPECT_NEAR(balance - state.budget.balance(), double(say.size()) + per_request + fan_out, 0.01);

  balance = state.budget.balance();
  from.clear();
  std::string history = R"({"type":"history","room":"r"})";
  ASSERT_EQ(handler.handle(from, state, history), Verdict::carry_on);
  ASSERT_EQ(from.frames.size(), 1u);
  EXPECT_NEAR(balance - state.budget.balance(),
              double(history.size()) + per_request + double(from.frames[0]->size()), 0.01);

  balance = state.budget.balance();
  from.clear();
  std::string junk = "not json at all";
  ASSERT_EQ(handler.handle(from, state, junk), Verdict::carry_on);
  ASSERT_EQ(errors(from).at(0).code, ErrorCode::bad_json);
  EXPECT_NEAR(balance - state.budget.balance(),
              double(junk.size()) + per_request + double(from.frames[0]->size()), 0.01)
      << "errors are answers too";
}

TEST_F(RequestHandlerTest, OverTheBudgetRequestsAreRefusedUnreadThenTheClientIsClosed) {
  config.request_burst_units = 1000;
  config.max_refused_requests = 3;
  FakeParticipant& from = connect();
  ClientState state(config);
  int admitted = 0;
  while (errors(from).empty() && admitted < 1000) {
    ASSERT_EQ(handler.handle(from, state, R"({"type":"ping","id":1})"), Verdict::carry_on);
    ++admitted;
  }
  // Admitted while the balance was positive: about 1000 / (22 + 256 + pong).
  EXPECT_GT(admitted, 3);
  EXPECT_LT(admitted, 20);
  std::vector<protocol::Error> refused = errors(from);
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused[0].code, ErrorCode::rate_limited);
  EXPECT_EQ(refused[0].id, protocol::RequestId{}) << "not decoded: no id";
  // Not decoded at all: junk is refused, not answered bad_json.
  ASSERT_EQ(handler.handle(from, state, "junk"), Verdict::carry_on);
  ASSERT_EQ(handler.handle(from, state, "junk"), Verdict::carry_on);
  for (const protocol::Error& e : errors(from)) EXPECT_EQ(e.code, ErrorCode::rate_limited);
  EXPECT_EQ(errors(from).size(), 3u);
  // The fourth refusal in a row closes.
  from.clear();
  EXPECT_EQ(handler.handle(from, state, R"({"type":"ping"})"), Verdict::close_over_budget);
  EXPECT_TRUE(from.frames.empty());
  EXPECT_EQ(hits(Limit::request_budget), 4u);
  EXPECT_EQ(hits(Limit::over_budget), 1u);
}

TEST_F(RequestHandlerTest, AnAdmittedRequestEndsTheRefusalsInARow) {
  config.max_refused_requests = 2;
  FakeParticipant& from = connect();
  ClientState state(config);
  auto refused_twice = [&] {
    state.budget.charge(state.budget.balance() + 1);  // into debt
    EXPECT_EQ(handler.handle(from, state, R"({"type":"ping"})"), Verdict::carry_on);
    EXPECT_EQ(handler.handle(from, state, R"({"type":"ping"})"), Verdict::carry_on);
  };
  refused_twice();
  state.budget.charge(-1e6);  // as if the client had waited
  EXPECT_EQ(handler.handle(from, state, R"({"type":"ping"})"), Verdict::carry_on);
  refused_twice();
  EXPECT_EQ(hits(Limit::over_budget), 0u);
  EXPECT_EQ(handler.handle(from, state, R"({"type":"ping"})"), Verdict::close_over_budget);
}

TEST_F(RequestHandlerTest, JoinLeaveAndNickBeyondThePresenceRateAreRateLimited) {
  config.presence_rate_per_s = kNoRefill;
  config.presence_burst = 3;
  FakeParticipant& member = connect();
  ASSERT_FALSE(hub.join(member, protocol::Join{"r"}, {}));
  FakeParticipant& flooder = connect();
  ClientState state(config);
  for (int i = 0; i < 10; ++i) {
    std::string type = i % 2 == 0 ? "join" : "leave";
    std::string request = R"({"type":")" + type + R"(","room":"r","id":)" + std::to_string(i) + "}";
    ASSERT_EQ(handler.handle(flooder, state, request), Verdict::carry_on);
  }
  ASSERT_EQ(handler.handle(flooder, state, R"({"type":"nick","name":"x","id":10})"),
            Verdict::carry_on);
  std::vector<protocol::Error> refused = errors(flooder);
  ASSERT_EQ(refused.size(), 8u);
  for (std::size_t i = 0; i < refused.size(); ++i) {
    EXPECT_EQ(refused[i].code, ErrorCode::rate_limited);
    EXPECT_EQ(refused[i].id, protocol::RequestId(std::int64_t(i + 3)));
  }
  EXPECT_EQ(member.events_of<protocol::Presence>().size(), 3u) << "join, leave, join";
  EXPECT_EQ(hits(Limit::presence_rate), 8u);
  EXPECT_EQ(hits(Limit::request_budget), 0u);
}

TEST_F(RequestHandlerTest, PendingReminderBytesAreBoundedServerWide) {
  std::string text(1000, 'r');
  config.max_reminder_bytes = 3 * ReminderQueue::held_bytes(text);
  FakeParticipant& a = connect();
  FakeParticipant& b = connect();
  ClientState state_a(config), state_b(config);
  std::string remind = R"({"type":"remind","after_ms":60000,"text":")" + text + R"("})";
  for (int i = 0; i < 3; ++i) ASSERT_EQ(handler.handle(a, state_a, remind), Verdict::carry_on);
  EXPECT_TRUE(errors(a).empty());
  EXPECT_EQ(reminders.held_bytes(), config.max_reminder_bytes);
  ASSERT_EQ(handler.handle(b, state_b, remind), Verdict::carry_on);
  ASSERT_EQ(errors(b).size(), 1u);
  EXPECT_EQ(errors(b)[0].code, ErrorCode::server_busy);
  EXPECT_EQ(hits(Limit::reminder_bytes), 1u);
  handler.forget(a);
  EXPECT_EQ(reminders.held_bytes(), 0u);
  ASSERT_EQ(handler.handle(b, state_b, remind), Verdict::carry_on);
  EXPECT_EQ(errors(b).size(), 1u) << "room again once a's reminders are gone";
  EXPECT_EQ(reminders.pending(), 1u);
}

TEST_F(RequestHandlerTest, StatsAndMetricsGaugesComeFromOnePlace) {
  FakeParticipant& a = connect();
  ASSERT_FALSE(hub.join(a, protocol::Join{"r"}, {}));
  ASSERT_FALSE(hub.say(a, protocol::Say{"r", "hi"}, {}));
  MetricsGauges gauges = read_gauges(metrics, hub, reminders, fetcher, lag);
  EXPECT_EQ(gauges.rooms, 1u);
  EXPECT_EQ(gauges.history_bytes, hub.history_bytes());
  EXPECT_GT(gauges.history_bytes, 0u);
  protocol::Stats stats = handler.stats(std::int64_t(5));
  EXPECT_EQ(stats.rooms, gauges.rooms);
  EXPECT_EQ(stats.messages_in, 1u);
  EXPECT_EQ(stats.id, protocol::RequestId(std::int64_t(5)));
  std::string text = render_prometheus(metrics, gauges);
  EXPECT_NE(text.find("loopchat_history_bytes " + std::to_string(gauges.history_bytes) + "\n"),
            std::string::npos);
  EXPECT_NE(text.find("loopchat_limit_hits_total{limit=\"request_budget\"} 0\n"),
            std::string::npos);
}

}  // namespace
}  // namespace loopchat
