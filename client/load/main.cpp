// loopchat-load: the load generator. Opens many WebSocket connections to a
// server speaking protocol v1, chats at an open-loop rate, and reports how
// fast and how completely messages arrive. One thread, one io_context.
// Exit status: 0 done, 1 an --slo objective was violated, 2 bad usage.
#include <sys/resource.h>

#include <fstream>
#include <iostream>

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

}  // namespace

int main(int argc, char** argv) {
  using namespace loopchat::load;
  auto parsed = parse_options(argc, argv);
  if (auto* status = std::get_if<int>(&parsed)) return *status;
  const LoadOptions& options = std::get<LoadOptions>(parsed);
  raise_nofile_limit();

  asio::io_context io(1);
  ScenarioRunner runner(io, options);
  std::exception_ptr failure;
  asio::co_spawn(io, runner.run(), [&](std::exception_ptr e) { failure = e; });
  io.run();
  if (failure) {
    try {
      std::rethrow_exception(failure);
    } catch (const std::exception& e) {
      std::cerr << "loopchat-load: " << e.what() << "\n";
      return 3;
    }
  }

  const LoadReport& report = runner.report();
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
