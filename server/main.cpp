// loopchat-server: a WebSocket chat server on one thread. One io_context,
// run on the main thread, carries the accept loop, every connection and every
// timer as coroutines. main() only wires: options -> io_context -> listener
// -> signals -> run().
#include <asio.hpp>

#include <cstdio>
#include <iostream>

#include "server/graceful_shutdown.hpp"
#include "server/hub.hpp"
#include "server/listener.hpp"
#include "server/log.hpp"
#include "server/metrics.hpp"
#include "server/options.hpp"
#include "server/process_stats.hpp"
#include "server/request_handler.hpp"

int main(int argc, char** argv) {
  using namespace loopchat;
  ParsedOptions options = parse_options(argc, argv);
  if (!options.config) return options.exit_code;
  const Config& config = *options.config;
  log::set_quiet(config.quiet);

  std::uint64_t open_files = raise_open_files_limit();
  log::info("open file limit: ", open_files);

  // Declared before the io_context: sessions suspended in it at exit are
  // destroyed with it and must still find these.
  Metrics metrics;
  Hub hub(config, metrics);
  RequestHandler requests(config, metrics, hub);
  HttpRoutes http(metrics, hub);
  ServerContext server{.config = config,
                       .metrics = metrics,
                       .hub = hub,
                       .requests = requests,
                       .http = http,
                       .sessions = {},
                       .shutting_down = false,
                       .on_drained = {}};

  asio::io_context io(1);  // concurrency hint 1: one thread, no locking in the scheduler
  try {
    asio::ip::tcp::endpoint where(asio::ip::make_address(config.bind_address), config.port);
    Listener listener(io, server, where);
    listener.start();
    GracefulShutdown shutdown(io, server, listener);

    auto bound = listener.local_endpoint();
    std::cout << "loopchat-server listening on " << bound.address().to_string() << ':'
              << bound.port() << " (ws://" << bound.address().to_string() << ':' << bound.port()
              << "/ws)" << std::endl;
    io.run();
    log::info("stopped");
  } catch (const std::exception& e) {
    log::error("cannot serve on ", config.bind_address, ":", config.port, ": ", e.what());
    return 1;
  }
  return 0;
}
