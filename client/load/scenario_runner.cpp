#include "client/load/scenario_runner.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include <asio/co_spawn.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>

#include "client/load/message_scan.hpp"
#include "common/use_tuple.hpp"

namespace loopchat::load {

namespace {

constexpr uint64_t kSetupPollMs = 5;
// Memory for all connections' read buffers together; each gets a share,
// between 4 and 64 KiB, so 20k idle connections stay affordable.
constexpr size_t kReadBufferBudgetBytes = 256u * 1024 * 1024;
constexpr uint64_t kCloseWaitMs = 2000;
constexpr uint64_t kChurnHoldMs = 50;  // a churned connection's time in its room

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// utime + stime of another process on this host, from /proc/PID/stat; -1 if unreadable.
double process_cpu_seconds(int pid) {
  if (pid <= 0) return -1;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  std::getline(in, stat);
  const auto comm_end = stat.rfind(')');  // the command name may hold spaces
  if (comm_end == std::string::npos) return -1;
  std::istringstream fields(stat.substr(comm_end + 2));
  std::string skip;
  for (int i = 3; i < 14; ++i) fields >> skip;  // state .. cmajflt: fields 3 to 13
  unsigned long long utime = 0, stime = 0;
  if (!(fields >> utime >> stime)) return -1;
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// Resident set size of a process on this host, from /proc/PID/statm; -1 if unreadable.
double process_rss_bytes(int pid) {
  if (pid <= 0) return -1;
  std::ifstream in("/proc/" + std::to_string(pid) + "/statm");
  unsigned long long size = 0, resident = 0;
  if (!(in >> size >> resident)) return -1;
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE));
}

// Nanoseconds a process spent runnable but waiting for a CPU (/proc/PID/schedstat,
// second field): other work on the machine took its core. -1 if unreadable.
double run_delay_seconds(const std::string& pid) {
  std::ifstream in("/proc/" + pid + "/schedstat");
  unsigned long long on_cpu = 0, waiting = 0;
  if (!(in >> on_cpu >> waiting)) return -1;
  return static_cast<double>(waiting) / 1e9;
}

double number_or(const nlohmann::json& j, const char* key, double fallback) {
  const auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : fallback;
}

}  // namespace

//------------------------------------------------------------------------------

struct ScenarioRunner::Client {
  Client(asio::any_io_executor ex, const client::WsClientConfig& config, uint32_t index,
         std::optional<uint32_t> room)
      : ws(std::move(ex), config), index(index), room(room) {}

  client::WsClient ws;
  uint32_t index;
  std::optional<uint32_t> room;  // none: the client only holds its connection
  bool joined = false;
  bool setup_done = false;
  bool ended = false;
};

struct ScenarioRunner::FetchSlot {
  explicit FetchSlot(asio::io_context& io) : timer(io) {}
  asio::steady_timer timer;
  uint64_t sent_us = 0;
  bool waiting = false;
  bool ok = false;
};

ScenarioRunner::ScenarioRunner(asio::io_context& io, LoadOptions options)
    : io_(io), options_(std::move(options)), base_(std::chrono::steady_clock::now()) {
  report_.options = options_;
  client_config_.read_chunk_bytes = std::clamp<size_t>(
      kReadBufferBudgetBytes / std::max<uint32_t>(options_.clients, 1), 4 * 1024, 64 * 1024);
  client_config_.max_queue_bytes = options_.max_queue_bytes;
  room_members_.assign(options_.rooms, 0);
  for (uint32_t r = 0; r < options_.rooms; ++r)
    room_names_.push_back(options_.room_prefix + std::to_string(r));
}

ScenarioRunner::~ScenarioRunner() = default;

uint64_t ScenarioRunner::now_us() const {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                   std::chrono::steady_clock::now() - base_)
                                   .count());
}

asio::awaitable<void> ScenarioRunner::sleep_until_us(uint64_t t_us) {
  asio::steady_timer timer(io_, base_ + std::chrono::microseconds(t_us));
  co_await timer.async_wait(use_tuple);
}

asio::awaitable<void> ScenarioRunner::sleep_for_ms(uint64_t ms) {
  asio::steady_timer timer(io_, std::chrono::milliseconds(ms));
  co_await timer.async_wait(use_tuple);
}

std::optional<asio::ip::address> ScenarioRunner::source_for(uint32_t index) const {
  if (options_.src_ips == 0) return std::nullopt;
  const uint32_t last_octet = 1 + index % options_.src_ips;
  return asio::ip::address_v4((127u << 24) | last_octet);
}

void ScenarioRunner::count_connect_error(std::error_code ec, int http_status) {
  std::string reason = ec.message();
  if (ec == client::WsErrc::handshake_rejected) reason = "HTTP " + std::to_string(http_status);
  ++report_.connect_errors[reason];
}

// Spawns a coroutine that the runner waits for before it returns.
#define LOOPCHAT_SPAWN(expr)                                               \
  do {                                                                     \
    ++active_tasks_;                                                       \
    asio::co_spawn(io_, (expr), [this](std::exception_ptr e) {             \
      --active_tasks_;                                                     \
      if (e) {                                                             \
        try {                                                              \
          std::rethrow_exception(e);                                       \
        } catch (const std::exception& ex) {                               \
          ++report_.connect_errors[std::string("internal: ") + ex.what()]; \
        }                                                                  \
      }                                                                    \
    });                                                                    \
  } while (0)

//------------------------------------------------------------------------------
// The run

asio::awaitable<void> ScenarioRunner::run() {
  const bool want_probe = options_.probe_interval_ms > 0 || options_.scenario == Scenario::idle;
  if (want_probe) {
    LOOPCHAT_SPAWN(probe_session());
    // The first stats answer gives the server's RSS before our clients.
    const uint64_t deadline = now_us() + 3'000'000;
    while (!stats_seen_ && !stopping_ && now_us() < deadline && active_tasks_ > 0) {
      co_await sleep_for_ms(kSetupPollMs);
    }
    report_.server_rss_bytes_start = report_.server_rss_bytes_end;
  }

  if (options_.scenario == Scenario::mix && options_.fetches > 0) {
    http_ = std::make_unique<DelayedHttpServer>(io_, options_.fetch_delay_ms);
    fetch_url_ = "http://127.0.0.1:" + std::to_string(http_->port()) + "/p/";
    LOOPCHAT_SPAWN(http_->serve());
  }

  co_await ramp_clients();
  const uint64_t setup_deadline = now_us() + uint64_t{options_.setup_timeout_ms} * 1000;
  while (setup_pending_ > 0 && now_us() < setup_deadline) co_await sleep_for_ms(kSetupPollMs);
  if (setup_pending_ > 0) ++report_.connect_errors["setup timed out (join unanswered)"];

  // Measurement window.
  measuring_ = true;
  measure_start_us_ = now_us();
  measure_end_us_ = measure_start_us_ + static_cast<uint64_t>(options_.duration_s * 1e6);
  second_start_us_ = measure_start_us_;
  cpu_start_s_ = cpu_second_s_ = cpu_seconds();
  server_cpu_start_s_ = server_cpu_second_s_ = process_cpu_seconds(options_.server_pid);
  report_.server_proc_rss_bytes_start = process_rss_bytes(options_.server_pid);
  const std::string server_pid = std::to_string(options_.server_pid);
  const double self_wait_start = run_delay_seconds("self");
  const double server_wait_start = options_.server_pid > 0 ? run_delay_seconds(server_pid) : -1;
  if (options_.rate_per_sender > 0) {
    for (uint32_t s = 0; s < options_.senders && s < clients_.size(); ++s) {
      if (clients_[s]->joined) LOOPCHAT_SPAWN(sender(*clients_[s], s));
    }
  }
  if (options_.scenario == Scenario::churn && options_.churn_per_s > 0) LOOPCHAT_SPAWN(churn());
  if (options_.scenario == Scenario::mix && !clients_.empty()) {
    for (uint32_t k = 0; k < options_.fetches; ++k) {
      fetch_slots_.push_back(std::make_unique<FetchSlot>(io_));
      LOOPCHAT_SPAWN(fetch_slot(k));
    }
    if (options_.remind_per_s > 0) LOOPCHAT_SPAWN(reminders());
  }

  uint64_t next_second = measure_start_us_ + 1'000'000;
  const uint64_t drain_end = measure_end_us_ + uint64_t{options_.drain_ms} * 1000;
  for (;;) {
    const uint64_t now = now_us();
    if (now >= next_second) {
      sample_second(now);
      next_second += 1'000'000;
    }
    if (now >= measure_end_us_ && ((received_ >= expected_ && !mix_pending()) || now >= drain_end))
      break;
    // Computed before the co_await: GCC 12 cannot keep an initializer_list across it.
    const uint64_t wake = std::min(std::min(next_second, now + 10'000), drain_end);
    co_await sleep_until_us(wake);
  }
  const uint64_t end = now_us();
  measuring_ = false;
  if (end > second_start_us_ + 100'000) sample_second(end);  // the last partial second
  report_.measured_s =
      static_cast<double>(std::min(end, measure_end_us_) - measure_start_us_) / 1e6;
  const double cpu = cpu_seconds() - cpu_start_s_;
  const double window_s = static_cast<double>(end - measure_start_us_) / 1e6;
  report_.cpu_pct = 100.0 * cpu / window_s;
  if (self_wait_start >= 0) {
    report_.run_delay_pct = 100.0 * (run_delay_seconds("self") - self_wait_start) / window_s;
  }
  if (server_wait_start >= 0) {
    const double wait = run_delay_seconds(server_pid);
    if (wait >= 0) report_.server_run_delay_pct = 100.0 * (wait - server_wait_start) / window_s;
  }
  if (server_cpu_start_s_ >= 0) {
    const double server_cpu = process_cpu_seconds(options_.server_pid);
    if (server_cpu >= 0) {
      report_.server_cpu_s = server_cpu - server_cpu_start_s_;
      report_.server_cpu_pct = 100.0 * report_.server_cpu_s / window_s;
      if (received_ > 0)
        report_.server_cpu_us_per_delivery =
            1e6 * report_.server_cpu_s / static_cast<double>(received_);
    }
    report_.server_proc_rss_bytes_end = process_rss_bytes(options_.server_pid);
  }
  fill_report();

  co_await close_everything();
}

asio::awaitable<void> ScenarioRunner::ramp_clients() {
  const uint64_t start = now_us();
  clients_.reserve(options_.clients);
  for (uint32_t i = 0; i < options_.clients; ++i) {
    if (options_.ramp_per_s > 0) {
      co_await sleep_until_us(start + static_cast<uint64_t>(i * 1e6 / options_.ramp_per_s));
    }
    while (handshakes_in_flight_ >= options_.max_concurrent_handshakes) {
      co_await sleep_for_ms(1);
    }
    std::optional<uint32_t> room;
    if (options_.scenario != Scenario::idle) room = i % options_.rooms;
    clients_.push_back(std::make_unique<Client>(io_.get_executor(), client_config_, i, room));
    ++setup_pending_;
    ++handshakes_in_flight_;
    LOOPCHAT_SPAWN(client_session(*clients_.back()));
  }
}

void ScenarioRunner::on_setup_done(Client& c) {
  if (c.setup_done) return;
  c.setup_done = true;
  --setup_pending_;
}

asio::awaitable<void> ScenarioRunner::client_session(Client& c) {
  const uint64_t t0 = now_us();
  const std::error_code ec = co_await c.ws.connect(options_.url, source_for(c.index));
  --handshakes_in_flight_;
  if (ec) {
    ++report_.connections_failed;
    count_connect_error(ec, c.ws.http_status());
    c.ended = true;
    on_setup_done(c);
    co_return;
  }
  handshake_.record(now_us() - t0);
  ++report_.connections_ok;
  if (c.room) {
    c.ws.send_text(R"({"type":"join","room":")" + room_names_[*c.room] + R"(","id":"j"})");
  } else {
    on_setup_done(c);
  }

  // Read with callbacks, not by this coroutine: resuming a coroutine per
  // read cost the load generator a tenth of its core at 100k deliveries/s.
  ++active_tasks_;
  c.ws.receive_each([this, &c](client::WsMessage& m) { on_client_message(c, m); });
}

void ScenarioRunner::on_client_message(Client& c, client::WsMessage& m) {
  switch (m.kind) {
    case client::WsMessage::Kind::text:
      on_client_text(c, m.data, now_us());
      return;
    case client::WsMessage::Kind::binary:
      return;
    case client::WsMessage::Kind::close:
      if (!stopping_) ++report_.close_codes[m.close_code];
      break;
    case client::WsMessage::Kind::error:
      if (!stopping_) {
        ++report_.connections_lost;
        ++report_.connect_errors["connection lost: " + m.error.message()];
      }
      break;
  }
  // The connection has ended.
  c.ended = true;
  if (c.joined) --room_members_[*c.room];
  c.joined = false;
  on_setup_done(c);
  --active_tasks_;
}

void ScenarioRunner::on_client_text(Client& c, const std::string& data, uint64_t now) {
  const auto type = json_string_field(data, "type");
  if (!type) return;
  if (*type == "message") {
    // The hot path: scanned, not parsed.
    const auto text = json_string_field(data, "text");
    if (!text) return;
    const auto marker = parse_say_text(*text);
    if (!marker || marker->intended_us < measure_start_us_) return;
    ++received_;
    ++second_received_;
    const uint64_t latency = now > marker->intended_us ? now - marker->intended_us : 0;
    latency_.record(latency);
    second_latency_.record(latency);
    return;
  }
  if (*type == "joined") {
    if (!c.joined && c.room && !c.ended) {
      c.joined = true;
      ++room_members_[*c.room];
      on_setup_done(c);
    }
    return;
  }
  if (*type == "fetched" || *type == "reminder") {
    on_mix_answer(data, now);
    return;
  }
  if (*type == "error") {
    on_mix_answer(data, now);  // an error answer to a fetch ends that fetch
    const auto j = nlohmann::json::parse(data, nullptr, false);
    std::string code = "unknown";
    if (j.is_object() && j.contains("code") && j["code"].is_string()) {
      code = j["code"].get<std::string>();
    }
    ++report_.server_errors[code];
    const bool join_answer = j.is_object() && j.contains("id") && j["id"] == "j";
    if (join_answer) on_setup_done(c);  // the join failed
  }
  // welcome, presence and the rest carry nothing to measure.
}

asio::awaitable<void> ScenarioRunner::sender(Client& c, uint32_t sender_id) {
  const double period_us = 1e6 / options_.rate_per_sender;
  // Senders are spread over the period so that they do not fire together.
  double next = static_cast<double>(measure_start_us_) +
                period_us * sender_id / std::max<uint32_t>(options_.senders, 1);
  const std::string prefix = R"({"type":"say","room":")" + room_names_[*c.room] + R"(","text":")";
  std::string frame;
  frame.reserve(prefix.size() + options_.size_bytes + 32);
  asio::steady_timer timer(io_);
  while (c.joined && !stopping_) {
    const uint64_t now = now_us();
    // Open loop: every message due by now goes, each stamped with the time
    // it was scheduled for, however late the loop is.
    while (next <= static_cast<double>(now) && next < static_cast<double>(measure_end_us_)) {
      const auto intended = static_cast<uint64_t>(next);
      frame.assign(prefix);
      append_say_text(frame, {intended, sender_id}, options_.size_bytes);
      frame.append("\"}");
      if (c.ws.send_text(frame)) {
        ++sent_;
        ++second_sent_;
        expected_ += room_members_[*c.room];
      } else {
        ++refused_;
      }
      next += period_us;
    }
    if (next >= static_cast<double>(measure_end_us_)) break;
    timer.expires_at(base_ + std::chrono::microseconds(static_cast<uint64_t>(next)));
    co_await timer.async_wait(use_tuple);
  }
}

//------------------------------------------------------------------------------
// The probe: one connection outside the rooms that measures responsiveness.

asio::awaitable<void> ScenarioRunner::probe_session() {
  probe_ = std::make_unique<client::WsClient>(io_.get_executor(), client_config_);
  client::WsClient& ws = *probe_;
  const std::error_code ec = co_await ws.connect(options_.url, source_for(0));
  if (ec) {
    count_connect_error(ec, ws.http_status());
    ++report_.connect_errors["probe connection failed"];
    co_return;
  }
  probe_ready_ = true;

  // Reader: answers arrive while the ticker below keeps its schedule.
  ++active_tasks_;
  asio::co_spawn(
      io_,
      [this, &ws]() -> asio::awaitable<void> {
        client::WsMessage m;
        for (;;) {
          co_await ws.receive_into(m);
          const uint64_t now = now_us();
          if (m.kind == client::WsMessage::Kind::text) {
            on_probe_text(m.data, now);
          } else if (m.kind != client::WsMessage::Kind::binary) {
            break;
          }
        }
        probe_ready_ = false;
      },
      [this](std::exception_ptr) { --active_tasks_; });

  const uint64_t ping_every = uint64_t{options_.probe_interval_ms} * 1000;
  const uint64_t stats_every = uint64_t{options_.stats_interval_ms} * 1000;
  uint64_t next_stats = now_us();
  uint64_t next_ping = 0;
  while (probe_ready_ && !stopping_) {
    const uint64_t now = now_us();
    if (now >= next_stats) {
      ws.send_text(R"({"type":"stats","id":"stats"})");
      next_stats += stats_every;
    }
    if (ping_every > 0 && measuring_) {
      if (next_ping < measure_start_us_) next_ping = measure_start_us_;
      while (next_ping <= now && next_ping < measure_end_us_) {
        ws.send_text(R"({"type":"ping","id":)" + std::to_string(probe_sent_us_.size()) + "}");
        probe_sent_us_.push_back(next_ping);
        next_ping += ping_every;
      }
    }
    uint64_t wake = next_stats;
    if (ping_every > 0 && measuring_ && next_ping < measure_end_us_)
      wake = std::min(wake, next_ping);
    if (!measuring_) wake = std::min(wake, now + 10'000);  // notice the window opening
    co_await sleep_until_us(wake);
  }
  if (probe_ready_) {
    ws.send_close(1000, "done");
    co_await ws.flush();
  }
}

void ScenarioRunner::on_probe_text(const std::string& data, uint64_t now) {
  const auto j = nlohmann::json::parse(data, nullptr, false);
  if (!j.is_object() || !j.contains("type") || !j["type"].is_string()) return;
  const std::string type = j["type"];
  if (type == "pong") {
    const auto id = j.find("id");
    if (id == j.end() || !id->is_number_unsigned()) return;
    const auto index = id->get<uint64_t>();
    if (index >= probe_sent_us_.size()) return;
    ++report_.probes_answered;
    const uint64_t rtt = now > probe_sent_us_[index] ? now - probe_sent_us_[index] : 0;
    probe_rtt_.record(rtt);
    second_probe_.record(rtt);
  } else if (type == "stats") {
    stats_seen_ = true;
    report_.server_stats_seen = true;
    report_.server_rss_bytes_end = number_or(j, "rss_bytes", report_.server_rss_bytes_end);
    report_.server_connections_end = number_or(j, "connections", report_.server_connections_end);
    const auto lag = j.find("loop_lag_ms");
    if (lag != j.end() && lag->is_object()) {
      last_loop_lag_p99_ms_ = number_or(*lag, "p99", 0);
      if (measuring_) {
        report_.loop_lag_p50_ms = std::max(report_.loop_lag_p50_ms, number_or(*lag, "p50", 0));
        report_.loop_lag_p99_ms = std::max(report_.loop_lag_p99_ms, last_loop_lag_p99_ms_);
        report_.loop_lag_max_ms = std::max(report_.loop_lag_max_ms, number_or(*lag, "max", 0));
      }
    }
  } else if (type == "error") {
    std::string code = "unknown";
    if (j.contains("code") && j["code"].is_string()) code = j["code"].get<std::string>();
    ++report_.server_errors[code];
  }
}

//------------------------------------------------------------------------------
// Churn: connections that come and go while the others chat.

asio::awaitable<void> ScenarioRunner::churn() {
  const double period_us = 1e6 / options_.churn_per_s;
  double next = static_cast<double>(measure_start_us_);
  uint64_t cycle = 0;
  while (!stopping_ && next < static_cast<double>(measure_end_us_)) {
    co_await sleep_until_us(static_cast<uint64_t>(next));
    if (stopping_) break;
    LOOPCHAT_SPAWN(churn_cycle(cycle++));
    next += period_us;
  }
}

asio::awaitable<void> ScenarioRunner::churn_cycle(uint64_t cycle) {
  client::WsClient ws(io_.get_executor(), client_config_);
  churn_clients_.push_back(&ws);
  const std::error_code ec =
      co_await ws.connect(options_.url, source_for(static_cast<uint32_t>(cycle)));
  if (!ec) {
    ws.send_text(R"({"type":"join","room":"load-churn","id":"j"})");
    co_await sleep_for_ms(kChurnHoldMs);
    ws.send_close(1000, "churn");
    client::WsMessage m;
    // Until the server's close (or EOF); close_everything() cuts a stuck one.
    do {
      co_await ws.receive_into(m);
    } while (m.kind == client::WsMessage::Kind::text || m.kind == client::WsMessage::Kind::binary);
    if (m.kind == client::WsMessage::Kind::close) {
      ++report_.churn_cycles;
    } else if (!stopping_) {
      ++report_.churn_failed;
    }
  } else if (!stopping_) {
    ++report_.churn_failed;
    count_connect_error(ec, ws.http_status());
  }
  std::erase(churn_clients_, &ws);
}

//------------------------------------------------------------------------------
// Mix: fetches held in flight against the local delayed HTTP target, and
// reminders at an open-loop rate, while the chat runs.

asio::awaitable<void> ScenarioRunner::fetch_slot(uint32_t slot) {
  FetchSlot& f = *fetch_slots_[slot];
  // Slot k always asks through client k: with fewer clients than slots a
  // client holds several (bounded by the server's per-client limit).
  Client& c = *clients_[slot % clients_.size()];
  const std::string request_prefix = R"({"type":"fetch","id":"f)" + std::to_string(slot) +
                                     R"(","url":")" + fetch_url_ + std::to_string(slot);
  uint64_t n = 0;
  while (!stopping_ && !c.ended && now_us() < measure_end_us_) {
    f.waiting = true;
    f.ok = false;
    f.sent_us = now_us();
    if (!c.ws.send_text(request_prefix + "?n=" + std::to_string(n++) + R"("})")) break;
    ++report_.fetches_sent;
    ++fetches_in_flight_;
    f.timer.expires_after(std::chrono::milliseconds(options_.fetch_answer_timeout_ms));
    co_await f.timer.async_wait(use_tuple);
    --fetches_in_flight_;
    if (f.waiting) {  // no answer in time (or the run is stopping)
      f.waiting = false;
      if (!stopping_) ++report_.fetches_failed;
      continue;
    }
    if (f.ok) {
      ++report_.fetches_ok;
    } else {
      ++report_.fetches_failed;
      co_await sleep_for_ms(10);  // server_busy and the like: do not spin
    }
  }
}

asio::awaitable<void> ScenarioRunner::reminders() {
  const double period_us = 1e6 / options_.remind_per_s;
  double next = static_cast<double>(measure_start_us_);
  uint64_t i = 0;
  while (!stopping_ && next < static_cast<double>(measure_end_us_)) {
    co_await sleep_until_us(static_cast<uint64_t>(next));
    const uint64_t now = now_us();
    while (next <= static_cast<double>(now) && next < static_cast<double>(measure_end_us_)) {
      Client& c = *clients_[i % clients_.size()];
      const auto intended = static_cast<uint64_t>(next);
      next += period_us;
      ++i;
      if (c.ended) continue;
      const std::string frame = R"({"type":"remind","id":"r)" +
                                std::to_string(remind_due_us_.size()) + R"(","after_ms":)" +
                                std::to_string(options_.remind_after_ms) + R"(,"text":"mix"})";
      if (!c.ws.send_text(frame)) continue;
      remind_due_us_.push_back(intended + uint64_t{options_.remind_after_ms} * 1000);
      ++report_.reminders_sent;
    }
  }
}

// `fetched`, `reminder`, or an `error` that may answer a fetch; found by id.
void ScenarioRunner::on_mix_answer(const std::string& data, uint64_t now) {
  const auto j = nlohmann::json::parse(data, nullptr, false);
  if (!j.is_object()) return;
  const auto id_it = j.find("id");
  if (id_it == j.end() || !id_it->is_string()) return;
  const std::string& id = id_it->get_ref<const std::string&>();
  if (id.size() < 2) return;
  uint64_t index = 0;
  for (size_t i = 1; i < id.size(); ++i) {
    if (id[i] < '0' || id[i] > '9') return;
    index = index * 10 + static_cast<uint64_t>(id[i] - '0');
  }
  const std::string type = j.value("type", "");
  if (id[0] == 'f' && index < fetch_slots_.size()) {
    FetchSlot& f = *fetch_slots_[index];
    if (!f.waiting) return;
    f.waiting = false;
    f.ok = type == "fetched" && j.value("status", 0) == 200;
    if (f.ok) fetch_latency_.record(now > f.sent_us ? now - f.sent_us : 0);
    f.timer.cancel();
  } else if (id[0] == 'r' && type == "reminder" && index < remind_due_us_.size()) {
    ++report_.reminders_received;
    const uint64_t due = remind_due_us_[index];
    reminder_lateness_.record(now > due ? now - due : 0);
  }
}

bool ScenarioRunner::mix_pending() const {
  return fetches_in_flight_ > 0 || report_.reminders_received < report_.reminders_sent;
}

//------------------------------------------------------------------------------
// Accounting

void ScenarioRunner::sample_second(uint64_t now) {
  SecondSample s;
  s.t_s = static_cast<double>(now - measure_start_us_) / 1e6;
  s.sent = second_sent_;
  s.deliveries = second_received_;
  s.p50_ms = static_cast<double>(second_latency_.percentile(50)) / 1000.0;
  s.p99_ms = static_cast<double>(second_latency_.percentile(99)) / 1000.0;
  s.max_ms = static_cast<double>(second_latency_.max()) / 1000.0;
  s.probe_p99_ms = static_cast<double>(second_probe_.percentile(99)) / 1000.0;
  s.loop_lag_p99_ms = last_loop_lag_p99_ms_;
  const double cpu = cpu_seconds();
  const double wall = static_cast<double>(now - second_start_us_) / 1e6;
  s.cpu_pct = wall > 0 ? 100.0 * (cpu - cpu_second_s_) / wall : 0;
  cpu_second_s_ = cpu;
  if (server_cpu_second_s_ >= 0) {
    const double server_cpu = process_cpu_seconds(options_.server_pid);
    if (server_cpu >= 0 && wall > 0)
      s.server_cpu_pct = 100.0 * (server_cpu - server_cpu_second_s_) / wall;
    server_cpu_second_s_ = server_cpu;
  }
  for (const auto& c : clients_) s.connections += c->ended ? 0 : 1;
  // Scale a partial last second to a rate.
  if (wall > 0 && wall < 0.95) {
    s.sent = static_cast<uint64_t>(static_cast<double>(s.sent) / wall);
    s.deliveries = static_cast<uint64_t>(static_cast<double>(s.deliveries) / wall);
  }
  report_.series.push_back(s);
  second_sent_ = second_received_ = 0;
  second_latency_.reset();
  second_probe_.reset();
  second_start_us_ = now;

  if (!options_.quiet && isatty(STDERR_FILENO)) {
    std::fprintf(stderr,
                 "\r[%5.1fs] conns %llu  sent %llu/s  deliv %llu/s  p50 %.2fms  p99 %.2fms  "
                 "lost-so-far %lld  probe p99 %.2fms  lag p99 %.1fms  cpu %.0f%%   ",
                 s.t_s, static_cast<unsigned long long>(s.connections),
                 static_cast<unsigned long long>(s.sent),
                 static_cast<unsigned long long>(s.deliveries), s.p50_ms, s.p99_ms,
                 static_cast<long long>(expected_) - static_cast<long long>(received_),
                 s.probe_p99_ms, s.loop_lag_p99_ms, s.cpu_pct);
    std::fflush(stderr);
  }
}

void ScenarioRunner::fill_report() {
  if (!options_.quiet && isatty(STDERR_FILENO)) std::fprintf(stderr, "\n");
  LoadReport& r = report_;
  r.handshake = LatencySummary::of(handshake_);
  r.latency = LatencySummary::of(latency_);
  r.probe_rtt = LatencySummary::of(probe_rtt_);
  r.messages_sent = sent_;
  r.sends_refused = refused_;
  r.deliveries_expected = expected_;
  r.deliveries_received = received_;
  r.deliveries_lost = expected_ > received_ ? expected_ - received_ : 0;
  r.deliveries_per_s = r.measured_s > 0 ? static_cast<double>(received_) / r.measured_s : 0;
  r.probes_sent = probe_sent_us_.size();
  r.fetch_latency = LatencySummary::of(fetch_latency_);
  r.reminder_lateness = LatencySummary::of(reminder_lateness_);
  if (http_) r.fetch_http_requests = http_->requests();
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  r.cpu_user_s = static_cast<double>(u.ru_utime.tv_sec) + u.ru_utime.tv_usec / 1e6;
  r.cpu_system_s = static_cast<double>(u.ru_stime.tv_sec) + u.ru_stime.tv_usec / 1e6;
  r.cpu_saturated = r.cpu_pct > 90.0;
  if (options_.scenario == Scenario::idle && r.connections_ok > 0 && r.server_rss_bytes_start > 0) {
    r.rss_per_connection_bytes =
        (r.server_rss_bytes_end - r.server_rss_bytes_start) / static_cast<double>(r.connections_ok);
  }
  if (!options_.slo.empty()) r.slo_violations = check_slo(options_.slo, r.slo_metrics());
}

asio::awaitable<void> ScenarioRunner::close_everything() {
  stopping_ = true;
  for (auto& c : clients_) {
    if (!c->ended) c->ws.send_close(1000, "load done");
  }
  const uint64_t deadline = now_us() + kCloseWaitMs * 1000;
  auto others_running = [&] {
    for (const auto& c : clients_) {
      if (!c->ended) return true;
    }
    return !churn_clients_.empty();
  };
  while (others_running() && now_us() < deadline) co_await sleep_for_ms(kSetupPollMs);
  // Whoever did not finish the close handshake in time is cut off.
  for (auto& c : clients_) {
    if (!c->ended) c->ws.close_socket();
  }
  for (auto* ws : churn_clients_) ws->close_socket();
  for (auto& f : fetch_slots_) f->timer.cancel();
  if (http_) http_->stop();
  if (probe_) probe_->close_socket();
  // The coroutines still suspended wake with operation_aborted and end.
  while (active_tasks_ > 0) co_await sleep_for_ms(kSetupPollMs);
}

}  // namespace loopchat::load
