// loopchat-timers-bench: does a server stay responsive with 100,000 pending
// reminders? Measures, against a running server, the ping round trip and the
// server's loop lag before and with the reminders pending, the cost of
// scheduling them (server CPU per timer when --server-pid is given), and the
// lateness of reminders firing at 50,000 a second while the chat is probed.
// One thread, one io_context, like the server.
#include <unistd.h>
#include <CLI/CLI.hpp>
#include <asio.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <random>
#include <variant>

#include "client/ws_client.hpp"
#include "common/codec.hpp"
#include "common/histogram.hpp"

namespace {

using namespace loopchat;
using Clock = std::chrono::steady_clock;
namespace proto = loopchat::protocol;

struct Options {
  std::string url = "ws://127.0.0.1:8080/ws";
  int clients = 1000;
  int per_client = 100;
  int probes = 400;
  int server_pid = 0;
};

// utime + stime of a process, in seconds (0 when unknown).
double cpu_seconds(int pid) {
  if (pid <= 0) return 0;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), {});
  auto fields = text.substr(text.rfind(')') + 2);
  std::istringstream in(fields);
  std::string skip;
  for (int i = 0; i < 11; ++i) in >> skip;  // fields 3..13
  double utime = 0, stime = 0;
  in >> utime >> stime;
  return (utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

struct Probe {
  Histogram rtt_us;
  proto::LoopLag lag;
};

class Bench {
 public:
  Bench(asio::io_context& io, Options options) : io_(io), options_(std::move(options)) {}

  asio::awaitable<void> run() {
    auto url = std::get<client::WsUrl>(client::WsUrl::parse_or_error(options_.url));
    for (int i = 0; i < options_.clients; ++i) {
      clients_.push_back(std::make_unique<client::WsClient>(io_.get_executor()));
      if (auto ec = co_await clients_.back()->connect(url))
        throw std::runtime_error("connect failed: " + ec.message());
      co_await next(*clients_.back());  // welcome
    }
    probe_ = std::make_unique<client::WsClient>(io_.get_executor());
    if (auto ec = co_await probe_->connect(url)) throw std::runtime_error(ec.message());
    co_await next(*probe_);

    Probe before = co_await probe_chat();
    auto cpu0 = cpu_seconds(options_.server_pid);
    auto t0 = Clock::now();
    co_await schedule_all(3600 * 1000, 0);  // an hour away: they stay pending
    double schedule_s = std::chrono::duration<double>(Clock::now() - t0).count();
    double schedule_cpu = cpu_seconds(options_.server_pid) - cpu0;
    Probe pending = co_await probe_chat();

    // Then as many again, due within 1 to 3 s: they fire while we probe.
    Histogram late_ms;
    fired_ = 0;
    co_await schedule_all(1000, 2000);
    Probe firing = co_await probe_chat_while_firing(late_ms);

    long total = static_cast<long>(options_.clients) * options_.per_client;
    std::printf("| phase | ping RTT p50 | p99 | max | loop lag p50 | p99 | max |\n");
    std::printf("|---|---|---|---|---|---|---|\n");
    print_row("no reminders", before);
    print_row(std::to_string(total) + " pending", pending);
    print_row(std::to_string(total) + " pending + " + std::to_string(total) + " firing", firing);
    std::printf("\nscheduling %ld reminders: %.2f s wall (%.0f/s)", total, schedule_s,
                total / schedule_s);
    if (options_.server_pid > 0)
      std::printf(", server CPU %.3f s = %.2f us per reminder (decode, validate, queue insert)",
                  schedule_cpu, schedule_cpu * 1e6 / total);
    std::printf("\nfired %ld reminders; late_ms p50 %llu, p99 %llu, max %llu\n", fired_,
                (unsigned long long)late_ms.percentile(50),
                (unsigned long long)late_ms.percentile(99), (unsigned long long)late_ms.max());
    for (auto& c : clients_) c->close_socket();
    probe_->close_socket();
  }

 private:
  static void print_row(const std::string& name, const Probe& p) {
    std::printf("| %s | %.2f ms | %.2f ms | %.2f ms | %.2f ms | %.2f ms | %.2f ms |\n",
                name.c_str(), p.rtt_us.percentile(50) / 1000.0, p.rtt_us.percentile(99) / 1000.0,
                p.rtt_us.max() / 1000.0, p.lag.p50, p.lag.p99, p.lag.max);
  }

  asio::awaitable<nlohmann::json> next(client::WsClient& c) {
    client::WsMessage m = co_await c.receive();
    if (m.kind != client::WsMessage::Kind::text)
      throw std::runtime_error("connection ended: " + std::to_string(m.close_code) + " " +
                               m.close_reason);
    co_return nlohmann::json::parse(m.data);
  }

  // Every client schedules per_client reminders (after_ms in [base, base+spread]),
  // then pings; returns when every ping is answered (all were scheduled).
  asio::awaitable<void> schedule_all(int base_ms, int spread_ms) {
    std::mt19937 random(7);
    std::uniform_int_distribution<int> jitter(0, spread_ms);
    for (auto& c : clients_) {
      for (int i = 0; i < options_.per_client; ++i)
        c->send_text(
            proto::encode(proto::Request{{}, proto::Remind{base_ms + jitter(random), "t"}}));
      c->send_text(proto::encode(proto::Request{std::int64_t{1}, proto::Ping{}}));
    }
    for (auto& c : clients_) {
      for (;;) {
        auto frame = co_await next(*c);
        if (frame["type"] == "pong") break;
        if (frame["type"] == "error") throw std::runtime_error(frame.dump());
      }
    }
  }

  asio::awaitable<Probe> probe_chat() {
    Probe result;
    asio::steady_timer gap(io_);
    for (int i = 0; i < options_.probes; ++i) {
      auto sent = Clock::now();
      probe_->send_text(proto::encode(proto::Request{std::int64_t{i}, proto::Ping{}}));
      co_await next(*probe_);
      result.rtt_us.record(
          std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - sent).count());
      gap.expires_after(std::chrono::milliseconds(5));
      co_await gap.async_wait(asio::use_awaitable);
    }
    probe_->send_text(proto::encode(proto::Request{{}, proto::StatsRequest{}}));
    auto stats = std::get<proto::Stats>(proto::decode_event((co_await probe_->receive()).data));
    result.lag = stats.loop_lag_ms;
    co_return result;
  }

  asio::awaitable<Probe> probe_chat_while_firing(Histogram& late_ms) {
    long expected = static_cast<long>(options_.clients) * options_.per_client;
    for (auto& c : clients_)
      asio::co_spawn(
          io_,
          [&, c = c.get()]() -> asio::awaitable<void> {
            for (int i = 0; i < options_.per_client; ++i) {
              auto frame = co_await next(*c);
              late_ms.record(frame["late_ms"].get<std::uint64_t>());
              ++fired_;
            }
          },
          asio::detached);
    Probe p = co_await probe_chat();
    asio::steady_timer wait(io_);
    while (fired_ < expected) {
      wait.expires_after(std::chrono::milliseconds(10));
      co_await wait.async_wait(asio::use_awaitable);
    }
    co_return p;
  }

  asio::io_context& io_;
  Options options_;
  std::vector<std::unique_ptr<client::WsClient>> clients_;
  std::unique_ptr<client::WsClient> probe_;
  long fired_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  Options options;
  CLI::App app{"loopchat-timers-bench: chat responsiveness with 100,000 pending reminders"};
  app.add_option("--url", options.url, "Server to measure")->capture_default_str();
  app.add_option("--clients", options.clients, "Connections")->capture_default_str();
  app.add_option("--per-client", options.per_client, "Reminders per connection and phase")
      ->capture_default_str();
  app.add_option("--probes", options.probes, "Pings per measurement")->capture_default_str();
  app.add_option("--server-pid", options.server_pid, "Server process, for its CPU time");
  CLI11_PARSE(app, argc, argv);
  asio::io_context io(1);
  Bench bench(io, options);
  int status = 0;
  asio::co_spawn(io, bench.run(), [&](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      std::cerr << "loopchat-timers-bench: " << x.what() << "\n";
      status = 1;
    }
  });
  io.run();
  return status;
}
