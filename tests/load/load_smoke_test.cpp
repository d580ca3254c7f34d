// loopchat-load against the real loopchat-server: 200 clients for 5 s at a
// small rate, then the JSON report (docs/load-generator.md) must hold every
// documented field and show no loss. A short `mix` run checks that fetches
// and reminders come back.
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/server_process.hpp"

extern char** environ;

namespace {

using loopchat::test::ServerProcess;
using nlohmann::json;

// Runs the load generator to its end (bounded); its exit status, or -1.
int run_load(const std::vector<std::string>& args, std::chrono::seconds limit) {
  std::vector<std::string> argv_text = {LOOPCHAT_LOAD_BIN};
  argv_text.insert(argv_text.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_text) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  if (posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ) != 0) return -1;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

json read_report(const std::string& path) {
  std::ifstream in(path);
  return json::parse(in, nullptr, false);
}

std::string report_path(const char* name) {
  return ::testing::TempDir() + "loopchat_load_smoke_" + std::to_string(getpid()) + "_" + name;
}

void expect_summary(const json& s, const char* what) {
  for (const char* field :
       {"count", "p50_ms", "p90_ms", "p95_ms", "p99_ms", "p99_9_ms", "max_ms", "mean_ms"}) {
    EXPECT_TRUE(s.contains(field)) << what << "." << field;
  }
}

TEST(LoadSmoke, ChatReportHasEveryFieldAndNoLoss) {
  ServerProcess server;
  const std::string path = report_path("chat.json");
  const int status = run_load(
      {"--url", server.url(), "--clients", "200", "--rooms", "10", "--senders", "20", "--rate", "5",
       "--duration", "5", "--quiet", "--json", path, "--slo", "loss=0,failed=0"},
      std::chrono::seconds(60));
  ASSERT_EQ(status, 0);
  const json r = read_report(path);
  std::remove(path.c_str());
  ASSERT_TRUE(r.is_object());

  EXPECT_EQ(r.at("version"), 1);
  const json& config = r.at("config");
  for (const char* field :
       {"url", "scenario", "clients", "rooms", "senders", "rate_per_sender", "duration_s",
        "ramp_per_s", "size_bytes", "probe_interval_ms", "src_ips", "churn_per_s", "slo"}) {
    EXPECT_TRUE(config.contains(field)) << "config." << field;
  }
  EXPECT_EQ(config.at("clients"), 200);
  EXPECT_GT(r.at("measured_s").get<double>(), 4.0);

  const json& conns = r.at("connections");
  EXPECT_EQ(conns.at("ok"), 200);
  EXPECT_EQ(conns.at("failed"), 0);
  EXPECT_EQ(conns.at("lost"), 0);
  EXPECT_TRUE(conns.at("errors").is_object());
  expect_summary(conns.at("handshake"), "connections.handshake");

  // 20 senders x 5/s x 5 s, each to a room of 20.
  const json& messages = r.at("messages");
  EXPECT_NEAR(messages.at("sent").get<double>(), 500, 25);
  EXPECT_EQ(messages.at("refused"), 0);
  const json& d = r.at("deliveries");
  EXPECT_GT(d.at("expected").get<uint64_t>(), 9000u);
  EXPECT_EQ(d.at("received"), d.at("expected"));
  EXPECT_EQ(d.at("lost"), 0);
  EXPECT_GT(d.at("per_s").get<double>(), 0);
  expect_summary(d.at("latency"), "deliveries.latency");
  EXPECT_EQ(d.at("latency").at("count"), d.at("received"));

  EXPECT_GT(r.at("probe").at("answered").get<uint64_t>(), 0u);
  expect_summary(r.at("probe").at("rtt"), "probe.rtt");
  const json& srv = r.at("server");
  EXPECT_EQ(srv.at("stats_seen"), true);
  for (const char* field : {"loop_lag_p50_ms", "loop_lag_p99_ms", "loop_lag_max_ms",
                            "rss_bytes_start", "rss_bytes_end", "connections_end"}) {
    EXPECT_TRUE(srv.contains(field)) << "server." << field;
  }
  EXPECT_GT(srv.at("rss_bytes_end").get<double>(), 0);
  EXPECT_TRUE(r.at("close_codes").is_object());
  EXPECT_TRUE(r.at("server_errors").empty()) << r.at("server_errors").dump();
  const json& lg = r.at("load_generator");
  for (const char* field : {"cpu_user_s", "cpu_system_s", "cpu_pct", "saturated"}) {
    EXPECT_TRUE(lg.contains(field)) << "load_generator." << field;
  }
  ASSERT_FALSE(r.at("series").empty());
  for (const char* field : {"t_s", "sent", "deliveries", "p50_ms", "p99_ms", "max_ms",
                            "probe_p99_ms", "loop_lag_p99_ms", "cpu_pct", "connections"}) {
    EXPECT_TRUE(r.at("series").front().contains(field)) << "series[]." << field;
  }
  EXPECT_EQ(r.at("slo").at("ok"), true);
}

TEST(LoadSmoke, MixFetchesAndRemindersComeBack) {
  ServerProcess server({"--fetch-allow", "127.0.0.0/8"});
  const std::string path = report_path("mix.json");
  const int status = run_load({"--url",
                               server.url(),
                               "--scenario",
                               "mix",
                               "--clients",
                               "50",
                               "--rooms",
                               "5",
                               "--senders",
                               "5",
                               "--rate",
                               "5",
                               "--duration",
                               "2",
                               "--fetches",
                               "10",
                               "--fetch-delay-ms",
                               "100",
                               "--remind-rate",
                               "20",
                               "--remind-after-ms",
                               "50",
                               "--quiet",
                               "--json",
                               path},
                              std::chrono::seconds(60));
  ASSERT_EQ(status, 0);
  const json r = read_report(path);
  std::remove(path.c_str());
  ASSERT_TRUE(r.is_object());
  EXPECT_EQ(r.at("deliveries").at("lost"), 0);
  const json& mix = r.at("mix");
  EXPECT_GT(mix.at("fetches_ok").get<uint64_t>(), 10u);
  EXPECT_EQ(mix.at("fetches_failed"), 0);
  EXPECT_GE(mix.at("fetch_http_requests").get<uint64_t>(), mix.at("fetches_ok").get<uint64_t>());
  expect_summary(mix.at("fetch_latency"), "mix.fetch_latency");
  // Every answer waited at least for the target's delay.
  EXPECT_GE(mix.at("fetch_latency").at("p50_ms").get<double>(), 100.0);
  EXPECT_GT(mix.at("reminders_sent").get<uint64_t>(), 20u);
  EXPECT_EQ(mix.at("reminders_received"), mix.at("reminders_sent"));
  expect_summary(mix.at("reminder_lateness"), "mix.reminder_lateness");
}

}  // namespace
