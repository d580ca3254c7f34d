// loopchat-load: the load generator. Opens many WebSocket connections to a
// server speaking protocol v1, chats at an open-loop rate, and reports how
// fast and how completely messages arrive. One thread, one io_context.
// Exit status: 0 done, 1 an --slo objective was violated, 2 bad usage.
#include <sys/resource.h>

#include <fstream>
#include <iostream>
#include <memory>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>

#include "client/load/options.hpp"
#include "client/load/scenario_runner.hpp"

namespace {

// Thousands of sockets need thousands of descriptors: take all we may.
void raise_nofile_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == limit.rlim_max) return;
  limit.rlim_cur = limit.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &limit) != 0) std::perror("loopchat-load: setrlimit(NOFILE)");
}

// One run of the scenario on a fresh loop; false (after a message) if it threw.
bool run_once(const loopchat::load::LoadOptions& options,
              std::unique_ptr<loopchat::load::ScenarioRunner>& runner, asio::io_context& io) {
  runner = std::make_unique<loopchat::load::ScenarioRunner>(io, options);
  std::exception_ptr failure;
  asio::co_spawn(io, runner->run(), [&](std::exception_ptr e) { failure = e; });
  io.run();
  if (!failure) return true;
  try {
    std::rethrow_exception(failure);
  } catch (const std::exception& e) {
    std::cerr << "loopchat-load: " << e.what() << "\n";
  }
  return false;
}

// `broadcast --steps`: grow the room step by step (each step a fresh run with
// that many clients), as the websocket-shootout does, until a step's p95
// reaches the limit or it loses a delivery; the last run is the one reported.
// Prints one line per step and the largest passing count.
bool run_steps(loopchat::load::LoadOptions options,
               std::unique_ptr<loopchat::load::ScenarioRunner>& runner,
               std::unique_ptr<asio::io_context>& io) {
  std::uint32_t passed = 0;
  for (std::uint32_t clients : options.broadcast_steps) {
    options.clients = clients;
    runner.reset();  // it holds sockets and timers of the loop it ran on
    io = std::make_unique<asio::io_context>(1);
    if (!run_once(options, runner, *io)) return false;
    auto report = runner->report().to_json();
    double p95 = report["deliveries"]["latency"]["p95_ms"].get<double>();
    auto lost = report["deliveries"]["lost"].get<std::int64_t>();
    bool ok = p95 < options.broadcast_p95_ms && lost == 0 &&
              report["connections"]["failed"].get<std::int64_t>() == 0;
    std::cout << "step " << clients << " clients: p95 " << p95 << " ms, lost " << lost
              << (ok ? ", pass" : ", fail") << std::endl;
    if (!ok) break;
    passed = clients;
  }
  std::cout << "largest passing step: " << passed << " clients (p95 < " << options.broadcast_p95_ms
            << " ms, no loss)" << std::endl;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace loopchat::load;
  auto parsed = parse_options(argc, argv);
  if (auto* status = std::get_if<int>(&parsed)) return *status;
  const LoadOptions& options = std::get<LoadOptions>(parsed);
  raise_nofile_limit();

  auto io = std::make_unique<asio::io_context>(1);
  std::unique_ptr<ScenarioRunner> runner;
  bool ran = options.scenario == Scenario::broadcast && !options.broadcast_steps.empty()
                 ? run_steps(options, runner, io)
                 : run_once(options, runner, *io);
  if (!ran) return 3;

  const LoadReport& report = runner->report();
  report.print_summary(std::cout);
  if (!options.json_path.empty()) {
    std::ofstream out(options.json_path);
    out << report.to_json().dump(2) << "\n";
    if (!out) std::cerr << "loopchat-load: cannot write " << options.json_path << "\n";
  }
  if (!options.chart_path.empty()) {
    std::ofstream out(options.chart_path);
    out << report.svg_chart();
    if (!out) std::cerr << "loopchat-load: cannot write " << options.chart_path << "\n";
  }
  return report.slo_violations.empty() ? 0 : 1;
}
