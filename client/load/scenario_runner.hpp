// One run of the load generator: connect the clients (paced), join them to
// rooms, send at a fixed open-loop schedule, measure every delivery, drain,
// close. Everything runs on one io_context thread; nothing here is locked.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/address.hpp>

#include "client/load/delayed_http_server.hpp"
#include "client/load/options.hpp"
#include "client/load/report.hpp"
#include "client/ws_client.hpp"
#include "common/histogram.hpp"

namespace loopchat::load {

class ScenarioRunner {
 public:
  ScenarioRunner(asio::io_context& io, LoadOptions options);
  ~ScenarioRunner();

  // The whole run; returns once every coroutine it started has ended.
  asio::awaitable<void> run();
  LoadReport& report() { return report_; }

 private:
  struct Client;

  uint64_t now_us() const;
  asio::awaitable<void> sleep_until_us(uint64_t t_us);
  asio::awaitable<void> sleep_for_ms(uint64_t ms);
  std::optional<asio::ip::address> source_for(uint32_t index) const;
  void count_connect_error(std::error_code ec, int http_status);

  asio::awaitable<void> ramp_clients();
  asio::awaitable<void> client_session(Client& c);
  void on_client_message(Client& c, client::WsMessage& m);
  void on_client_text(Client& c, const std::string& data, uint64_t now);
  void on_setup_done(Client& c);
  asio::awaitable<void> sender(Client& c, uint32_t sender_id);
  asio::awaitable<void> probe_session();
  void on_probe_text(const std::string& data, uint64_t now);
  asio::awaitable<void> churn();
  asio::awaitable<void> churn_cycle(uint64_t cycle);
  asio::awaitable<void> fetch_slot(uint32_t slot);
  asio::awaitable<void> reminders();
  void on_mix_answer(const std::string& data, uint64_t now);
  bool mix_pending() const;
  void sample_second(uint64_t now);
  asio::awaitable<void> close_everything();
  void fill_report();

  asio::io_context& io_;
  LoadOptions options_;
  client::WsClientConfig client_config_;
  std::chrono::steady_clock::time_point base_;
  LoadReport report_;

  std::vector<std::unique_ptr<Client>> clients_;
  std::vector<uint32_t> room_members_;  // joined and still connected, per room
  std::vector<std::string> room_names_;
  uint32_t handshakes_in_flight_ = 0;
  uint32_t setup_pending_ = 0;  // clients neither joined nor failed yet
  uint32_t active_tasks_ = 0;   // coroutines and read loops still running
  bool measuring_ = false;
  bool stopping_ = false;
  uint64_t measure_start_us_ = 0, measure_end_us_ = 0;

  Histogram handshake_, latency_, probe_rtt_;
  Histogram second_latency_, second_probe_;  // reset every second
  uint64_t sent_ = 0, refused_ = 0, expected_ = 0, received_ = 0;
  uint64_t second_sent_ = 0, second_received_ = 0;

  std::unique_ptr<client::WsClient> probe_;
  std::vector<uint64_t> probe_sent_us_;  // by ping id: intended send time
  bool probe_ready_ = false;
  bool stats_seen_ = false;
  double last_loop_lag_p99_ms_ = -1;
  std::vector<client::WsClient*> churn_clients_;

  // mix: each fetch slot keeps one fetch in flight; its timer is cancelled by the answer.
  struct FetchSlot;
  std::unique_ptr<DelayedHttpServer> http_;
  std::string fetch_url_;
  std::vector<std::unique_ptr<FetchSlot>> fetch_slots_;
  uint32_t fetches_in_flight_ = 0;
  std::vector<uint64_t> remind_due_us_;  // by remind id: intended send time + after_ms
  Histogram fetch_latency_, reminder_lateness_;

  // Resource use at the start of the measurement and of the current second.
  double cpu_start_s_ = 0, cpu_second_s_ = 0;
  double server_cpu_start_s_ = -1, server_cpu_second_s_ = -1;
  uint64_t second_start_us_ = 0;
};

}  // namespace loopchat::load
