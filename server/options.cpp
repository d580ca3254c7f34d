#include "server/options.hpp"

#include <CLI/CLI.hpp>

#include <iostream>

#include "server/auth/origin_policy.hpp"
#include "server/fetch/address_policy.hpp"

namespace loopchat {

ParsedOptions parse_options(int argc, char** argv) {
  Config c;
  CLI::App app{"loopchat-server: a single-threaded WebSocket chat server (ws://HOST:PORT/ws)",
               "loopchat-server"};
  app.option_defaults()->always_capture_default();
  app.get_formatter()->column_width(40);
  app.footer("Tokens for --auth-secret-file: loopchat-server token --help");

  app.add_option("--bind", c.bind_address, "Address to listen on");
  app.add_option("--port", c.port, "TCP port (0 picks a free one)");
  app.add_flag("--reuse-port", c.reuse_port,
               "Share the port with other loopchat-server processes (SO_REUSEPORT): with --redis, "
               "one port for a cluster on one host");
  app.add_flag("--quiet", c.quiet, "Log warnings and errors only");
  app.add_option("--log-lines-per-second", c.log_lines_per_second,
                 "Log lines per second from one call site; the rest are counted (0: no limit)");
  app.add_option("--log-buffer-bytes", c.log_buffer_bytes,
                 "Log bytes held while stderr is full; beyond: lines dropped")
      ->check(CLI::Range(std::size_t(0), std::size_t(64) << 20));

  auto access = "Access";
  app.add_option("--auth-secret-file", c.auth.secret_file,
                 "Require a signed token (HS256 JWT, this file's secret, at least 32 bytes) on "
                 "every WebSocket upgrade: ?token= or Authorization: Bearer (docs/security.md)")
      ->check(CLI::ExistingFile)
      ->group(access);
  app.add_option("--allowed-origin", c.auth.allowed_origins,
                 "A browser Origin allowed besides the server's own, e.g. https://chat.example.org "
                 "(repeatable; * for any); others get HTTP 403")
      ->check([](const std::string& origin) {
        return origin == "*" || !normalize_origin(origin).empty()
                   ? std::string()
                   : "an origin is scheme://host[:port]";
      })
      ->group(access);
  app.add_option("--trusted-proxy", c.auth.trusted_proxies,
                 "CIDR of a reverse proxy whose X-Forwarded-For gives the client's address, for "
                 "the per-address limits and the logs (repeatable)")
      ->check([](const std::string& cidr) { return cidr_error(cidr); })
      ->group(access);
  app.add_option("--who-max-names", c.who_max_names, "Names per who answer (clients page on)")
      ->check(CLI::Range(std::size_t(1), std::size_t(100000)))
      ->group(access);

  auto limits = "Limits";
  app.add_option("--max-connections", c.max_connections,
                 "Open WebSocket connections; beyond: HTTP 503")
      ->check(CLI::PositiveNumber)
      ->group(limits);
  app.add_option("--max-connections-per-ip", c.max_connections_per_ip,
                 "Open WebSocket connections per IPv4 address or IPv6 /64; beyond: HTTP 503 "
                 "(0: no limit)")
      ->group(limits);
  app.add_option("--per-ip-exempt", c.per_ip_exempt_cidrs,
                 "CIDR whose sources --max-connections-per-ip spares (repeatable; replaces the "
                 "loopback default)")
      ->check([](const std::string& cidr) { return cidr_error(cidr); })
      ->group(limits);
  app.add_option("--max-handshake-bytes", c.max_handshake_bytes,
                 "Largest HTTP request head (upgrade or page); beyond: HTTP 431")
      ->check(CLI::Range(std::size_t(256), std::size_t(16000)))
      ->group(limits);
  app.add_option("--max-handshakes", c.max_handshakes,
                 "Connections in their HTTP phase at once; beyond, new ones are closed at accept")
      ->check(CLI::PositiveNumber)
      ->group(limits);
  app.add_option("--max-message-bytes", c.max_message_bytes,
                 "Largest message a client may send; beyond: close 1009")
      ->check(CLI::Range(std::size_t(64), std::size_t(16) << 20))
      ->group(limits);
  app.add_option("--max-queue-bytes", c.max_queue_bytes,
                 "Outbound bytes queued per connection; beyond: close 1008")
      ->check(CLI::Range(std::size_t(1024), std::size_t(1) << 30))
      ->group(limits);
  app.add_option("--max-text-chars", c.rules.max_text_chars,
                 "Longest say/remind text; beyond: too_long")
      ->check(CLI::PositiveNumber)
      ->group(limits);
  app.add_option("--max-name-chars", c.rules.max_name_chars,
                 "Longest nickname (protocol maximum 32)")
      ->check(CLI::Range(1, 32))
      ->group(limits);
  app.add_option("--max-room-chars", c.rules.max_room_chars,
                 "Longest room name (protocol maximum 64)")
      ->check(CLI::Range(1, 64))
      ->group(limits);
  app.add_option("--max-request-keys", c.rules.max_keys,
                 "Object members in one request, nested ones included; beyond: bad_request")
      ->check(CLI::Range(std::size_t(8), std::size_t(65536)))
      ->group(limits);
  app.add_option("--max-request-depth", c.rules.max_depth,
                 "Nesting of objects and arrays in one request (the request is 1); beyond: "
                 "bad_request")
      ->check(CLI::Range(std::size_t(1), std::size_t(512)))
      ->group(limits);
  app.add_option("--history", c.history_size,
                 "Messages kept in memory per room (the hot cache; the store keeps more)")
      ->check(CLI::Range(0, 100000))
      ->group(limits);
  app.add_option("--max-rooms", c.max_rooms, "Rooms kept; the oldest empty room is evicted first")
      ->check(CLI::PositiveNumber)
      ->group(limits);
  app.add_option("--max-rooms-per-client", c.max_rooms_per_client, "Rooms one connection may join")
      ->check(CLI::PositiveNumber)
      ->group(limits);
  app.add_option("--presence-max-members", c.presence_max_members,
                 "Rooms with more members get no join/leave presence (0: all rooms do)")
      ->group(limits);

  auto costs = "Costs (docs/security.md, \"The cost model\")";
  app.add_option("--request-budget-units-per-s", c.request_budget_units_per_s,
                 "Cost units a second a connection may spend on requests (0: 100,000 per say of "
                 "--rate, at least 2,000,000); beyond: rate_limited")
      ->check(CLI::NonNegativeNumber)
      ->group(costs);
  app.add_option("--request-burst-units", c.request_burst_units,
                 "Cost units a connection may spend at once (0: 100,000 per say of --burst, at "
                 "least 4,000,000)")
      ->check(CLI::NonNegativeNumber)
      ->group(costs);
  app.add_option("--cost-per-request-units", c.cost_per_request_units,
                 "What each request costs besides its bytes decoded and answered")
      ->group(costs);
  app.add_option("--cost-per-delivery-units", c.cost_per_delivery_units,
                 "What each frame fanned out to a room member costs (message, presence)")
      ->group(costs);
  app.add_option("--max-refused-requests", c.max_refused_requests,
                 "Requests refused in a row for the budget; the next one closes 1008")
      ->group(costs);
  app.add_option("--presence-rate", c.presence_rate_per_s,
                 "join, leave and nick a second per connection; beyond: rate_limited")
      ->check(CLI::PositiveNumber)
      ->group(costs);
  app.add_option("--presence-burst", c.presence_burst,
                 "join, leave and nick a connection may send at once before --presence-rate")
      ->check(CLI::Range(1.0, 1e9))
      ->group(costs);
  app.add_option("--history-answer-max-bytes", c.history_answer_max_bytes,
                 "Bytes of one history answer; beyond: the oldest (the newest with since_seq) "
                 "are left out and it says truncated")
      ->check(CLI::Range(std::size_t(1024), std::size_t(1) << 30))
      ->group(costs);
  app.add_option("--max-history-bytes", c.max_history_bytes,
                 "Bytes of all rooms' history in memory; beyond: the rooms least recently "
                 "posted to lose their oldest messages from memory (not from the store)")
      ->group(costs);
  app.add_option("--max-reminder-bytes", c.max_reminder_bytes,
                 "Bytes held by all pending reminders; beyond: remind answers server_busy")
      ->group(costs);

  auto storage = "History on disk (docs/persistence.md)";
  StoreSettings& st = c.store;
  auto* data_dir =
      app.add_option("--data-dir", st.data_dir, "Folder of the history database (created)")
          ->group(storage);
  app.add_flag("--memory-only", st.memory_only, "Keep no history on disk: it ends with the process")
      ->excludes(data_dir)
      ->group(storage);
  app.add_option("--sync", st.sync,
                 "When the database is fsynced: normal (at checkpoints; a power loss can lose "
                 "the last commits), full (every commit, on the loop), off (never)")
      ->check(CLI::IsMember({"normal", "full", "off"}))
      ->group(storage);
  app.add_option("--history-keep", st.history_keep,
                 "Messages kept on disk per room; older ones are deleted (0: all)")
      ->group(storage);
  app.add_option("--history-max-age-s", st.history_max_age_s,
                 "Messages older than this are deleted from disk (0: any age)")
      ->group(storage);
  app.add_option("--retention-interval-ms", st.retention_interval_ms,
                 "How often retention deletes a batch")
      ->check(CLI::Range(10, 3600000))
      ->group(storage);
  app.add_option("--retention-batch-rows", st.retention_batch_rows,
                 "Rows one retention pass deletes at most")
      ->check(CLI::Range(std::size_t(1), std::size_t(1000000)))
      ->group(storage);
  app.add_option("--checkpoint-pages", st.checkpoint_pages,
                 "WAL pages (4 KiB) that make the loop checkpoint the log into the database")
      ->check(CLI::Range(std::size_t(1), std::size_t(1) << 24))
      ->group(storage);
  app.add_option("--store-retry-ms", st.retry_ms,
                 "After a failed write, messages go unsaved this long before the next try")
      ->check(CLI::Range(1, 600000))
      ->group(storage);
  app.add_option("--history-max-rows-per-read", st.max_rows_per_read,
                 "Messages one history answer reads from disk at most")
      ->check(CLI::Range(std::size_t(1), std::size_t(100000)))
      ->group(storage);

  auto cluster = "Cluster (docs/cluster.md)";
  RedisSettings& rs = c.redis;
  app.add_option("--redis", rs.url,
                 "redis://HOST:PORT[/DB] (HOST an IP address): rooms shared through Redis with "
                 "every server given the same URL; the history store is not used")
      ->check([&rs](const std::string& url) {
        auto error = parse_redis_url(url, rs.endpoint);
        return error ? *error : std::string();
      })
      ->group(cluster);
  app.add_option("--redis-timeout-ms", rs.timeout_ms,
                 "A Redis reply or connect later than this drops the connection (then "
                 "reconnects)")
      ->check(CLI::Range(10, 60000))
      ->group(cluster);
  app.add_option("--redis-node-ttl-ms", rs.node_ttl_ms,
                 "A node's lease on its members in Redis, refreshed every quarter of it: a "
                 "node that dies leaves everyone's member lists within 1.25 times this")
      ->check(CLI::Range(400, 600000))
      ->group(cluster);
  app.add_option("--redis-history-max", rs.history_max,
                 "Messages a room's Redis stream keeps (XADD MAXLEN ~)")
      ->check(CLI::Range(std::uint64_t(1), std::uint64_t(1) << 40))
      ->group(cluster);

  auto timers = "Timers";
  app.add_option("--close-timeout-ms", c.close_timeout_ms, "Wait for a close reply, then drop")
      ->check(CLI::Range(1, 60000))
      ->group(timers);
  app.add_option("--drain-timeout-ms", c.drain_timeout_ms,
                 "On SIGINT/SIGTERM, wait this long for clients to close")
      ->check(CLI::Range(0, 60000))
      ->group(timers);

  app.add_option("--ping-interval-ms", c.ping_interval_ms,
                 "WebSocket ping to every client this often")
      ->check(CLI::Range(10, 3600000))
      ->group(timers);
  app.add_option("--ping-timeout-ms", c.ping_timeout_ms,
                 "A ping unanswered this long closes the connection (1001)")
      ->check(CLI::Range(10, 3600000))
      ->group(timers);
  app.add_option("--handshake-timeout-ms", c.handshake_timeout_ms,
                 "An upgrade not finished this long is dropped")
      ->check(CLI::Range(10, 600000))
      ->group(timers);
  app.add_option("--max-timers-per-client", c.max_timers_per_client,
                 "Pending reminders per connection; beyond: too_many_timers")
      ->check(CLI::Range(0, 1000000))
      ->group(limits);
  app.add_option("--rate", c.rate_per_s,
                 "Messages (say) per second a connection may send; beyond: rate_limited")
      ->check(CLI::PositiveNumber)
      ->group(limits);
  app.add_option("--burst", c.burst, "Messages a connection may send at once before --rate applies")
      ->check(CLI::Range(1.0, 1e9))
      ->group(limits);

  auto fetch = "Outbound fetches";
  app.add_option("--fetch-timeout-ms", c.fetch.timeout_ms,
                 "Whole fetch, lookups and redirects included; beyond: fetch_timeout")
      ->check(CLI::Range(10, 600000))
      ->group(fetch);
  app.add_option("--fetch-max-bytes", c.fetch.max_body_bytes,
                 "Body bytes read; the rest is not downloaded")
      ->check(CLI::Range(std::size_t(0), std::size_t(1) << 30))
      ->group(fetch);
  app.add_option("--fetch-max-redirects", c.fetch.max_redirects,
                 "Redirects followed; beyond: fetch_failed")
      ->check(CLI::Range(0, 20))
      ->group(fetch);
  app.add_option("--max-fetches", c.fetch.max_concurrent, "Fetches in flight; beyond: server_busy")
      ->check(CLI::PositiveNumber)
      ->group(fetch);
  app.add_option("--max-fetches-per-client", c.fetch.max_per_client,
                 "Fetches in flight per connection; beyond: server_busy")
      ->check(CLI::PositiveNumber)
      ->group(fetch);
  app.add_option("--fetch-allow", c.fetch.allow_cidrs,
                 "CIDR a fetch may reach despite the SSRF policy (repeatable), e.g. 127.0.0.0/8")
      ->check([](const std::string& cidr) { return cidr_error(cidr); })
      ->group(fetch);
  app.add_option("--dns-servers", c.dns.servers,
                 "host:port,... DNS servers instead of /etc/resolv.conf's")
      ->group(fetch);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return {std::nullopt, code == 0 ? 0 : 2};
  }
  return {c, 0};
}

}  // namespace loopchat
