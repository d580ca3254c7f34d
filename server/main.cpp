// loopchat-server: a WebSocket chat server on one thread. One io_context,
// run on the main thread, carries the accept loop, every connection, every
// timer and every outbound fetch as coroutines. main() only wires: options ->
// io_context -> listener -> signals -> run().
#include <asio.hpp>

#include <csignal>
#include <iostream>
#include <string_view>

#include "server/auth/authenticator.hpp"
#include "server/auth/origin_policy.hpp"
#include "server/auth/token_command.hpp"
#include "server/chat/hub.hpp"
#include "server/chat/reminder_queue.hpp"
#include "server/chat/request_handler.hpp"
#include "server/engine/local_engine.hpp"
#include "server/engine/redis_engine.hpp"
#include "server/fetch/fetcher.hpp"
#include "server/ops/graceful_shutdown.hpp"
#include "server/ops/http_routes.hpp"
#include "server/ops/log.hpp"
#include "server/ops/loop_lag_monitor.hpp"
#include "server/ops/metrics.hpp"
#include "server/ops/process_stats.hpp"
#include "server/options.hpp"
#include "server/store/message_store.hpp"
#include "server/transport/listener.hpp"

int main(int argc, char** argv) {
  using namespace loopchat;
  if (argc > 1 && std::string_view(argv[1]) == "token")
    return run_token_command(argc - 1, argv + 1);
  ParsedOptions options = parse_options(argc, argv);
  if (!options.config) return options.exit_code;
  const Config& config = *options.config;
  log::configure({.quiet = config.quiet,
                  .lines_per_second = config.log_lines_per_second,
                  .buffer_bytes = config.log_buffer_bytes});
  // A reader of stderr (or of a socket) that goes away must not kill the server.
  std::signal(SIGPIPE, SIG_IGN);
  // Nor a file size limit (RLIMIT_FSIZE): a write past it fails with EFBIG,
  // which the store handles like a full disk.
  std::signal(SIGXFSZ, SIG_IGN);
  log::info("open file limit: ", raise_open_files_limit());

  try {
    // Declared first, destroyed last: run() returns only once every session,
    // timer and fetch has ended, so nothing below is used after it.
    asio::io_context io(1);  // concurrency hint 1: one thread, no scheduler locking
    log::LoopFlush log_flush(io);

    Metrics metrics;
    std::unique_ptr<MessageStore> store;
    const bool clustered = !config.redis.url.empty();
    metrics.clustered = clustered;
    if (!config.store.memory_only && !clustered) {
      try {
        store = std::make_unique<MessageStore>(io, config.store, metrics);
      } catch (const std::exception& e) {  // one line naming the path, then a non-zero exit
        log::error(e.what());
        return 1;
      }
      log::info("history stored in ", store->path(), " (sync ", config.store.sync, ")");
    }
    std::unique_ptr<Engine> engine;
    if (clustered) {
      // Connected before serving: unreachable at start is a one-line exit.
      auto redis = std::make_unique<RedisEngine>(io, config, metrics);
      std::string error = "no answer";
      redis->start([&](const std::string& e) {
        error = e;
        io.stop();
      });
      io.run();
      io.restart();
      if (!error.empty()) {
        log::error("cannot use Redis at ", config.redis.url, ": ", error);
        return 1;
      }
      log::info("rooms shared through Redis at ", config.redis.url);
      engine = std::move(redis);
    } else {
      engine = std::make_unique<LocalEngine>(config, metrics, store.get());
    }
    Hub hub(config, metrics, *engine);
    ReminderQueue reminders(io, config.max_timers_per_client,
                            [&hub](Participant& owner, const std::string& text,
                                   const protocol::RequestId& id, std::chrono::milliseconds late) {
                              hub.send(owner, protocol::Reminder{text, late.count(), id});
                            });
    Fetcher fetcher(io, config.fetch, config.dns);
    LoopLagMonitor lag(io);
    std::unique_ptr<Authenticator> auth;
    if (config.auth.secret_file.empty()) {
      auth = std::make_unique<Authenticator>(io);
    } else {
      try {  // one line naming the file, then a non-zero exit
        auth = std::make_unique<Authenticator>(
            io, TokenVerifier(read_secret_file(config.auth.secret_file),
                              {.max_name_chars = config.rules.max_name_chars,
                               .max_room_chars = config.rules.max_room_chars}));
      } catch (const std::exception& e) {
        log::error(e.what());
        return 1;
      }
      log::info("authentication on: every upgrade needs a token signed with ",
                config.auth.secret_file);
    }
    OriginPolicy origins(config.auth.allowed_origins);
    std::vector<Cidr> trusted_proxies;
    for (const std::string& cidr : config.auth.trusted_proxies) {
      std::string error;
      trusted_proxies.push_back(*parse_cidr(cidr, error));  // checked by the option parser
    }
    RequestHandler requests(config, metrics, hub, *auth, reminders, fetcher, lag);
    HttpRoutes http(metrics, hub, reminders, fetcher, lag);
    WriteFlusher flusher(io.get_executor());
    // Group commit: this turn's messages are stored before any of them is written.
    if (store) flusher.set_barrier([&store] { store->commit(); });
    DeadlineLanes deadlines(io, {std::chrono::milliseconds(config.handshake_timeout_ms),
                                 std::chrono::milliseconds(config.ping_interval_ms),
                                 std::chrono::milliseconds(config.ping_timeout_ms),
                                 std::chrono::milliseconds(config.close_timeout_ms)});
    ServerContext server{.config = config,
                         .metrics = metrics,
                         .hub = hub,
                         .requests = requests,
                         .http = http,
                         .flusher = flusher,
                         .deadlines = deadlines,
                         .auth = *auth,
                         .origins = origins,
                         .trusted_proxies = trusted_proxies,
                         .connections = {},
                         .shutting_down = false,
                         .on_drained = {}};

    asio::ip::tcp::endpoint where(asio::ip::make_address(config.bind_address), config.port);
    Listener listener(io, server, where);
    GracefulShutdown shutdown(io, server, [&] {
      listener.stop();
      lag.stop();
      reminders.stop();
      fetcher.stop();
      if (store) store->stop();
      if (clustered) static_cast<RedisEngine&>(*engine).stop();
      log_flush.stop();
    });
    listener.start();
    lag.start();
    reminders.start();
    if (store) store->start();

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
