// Outbound HTTP(S) GETs for the `fetch` request, on the server's one loop.
//
// Nothing here may block the io_context or start a thread:
// - names are looked up by DnsResolver (c-ares on the loop) and handed to
//   curl with CURLOPT_RESOLVE, so curl's threaded resolver never runs;
// - curl runs with its multi-socket API: its sockets (opened and closed by
//   our callbacks) are watched by FdWatchers, its timeout is one steady_timer;
// - redirects are followed here, one transfer per hop, each hop looked up
//   and checked against the AddressPolicy again.
// The policy is enforced on the address each socket actually connects to.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <variant>

#include <curl/curl.h>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include "common/protocol.hpp"
#include "server/fetch/address_policy.hpp"
#include "server/fetch/dns_resolver.hpp"
#include "server/fetch/fetch_limits.hpp"
#include "server/transport/fd_watcher.hpp"

namespace loopchat {

struct FetchResult {
  int status = 0;                    // HTTP status of the last response
  std::uint64_t bytes = 0;           // body bytes read (at most max_body_bytes)
  bool truncated = false;            // the body was cut at max_body_bytes
  std::int64_t ms = 0;               // wall time from start(), lookups and redirects included
  std::optional<std::string> title;  // HTML pages only
  std::string url;                   // as requested
  std::string final_url;             // after redirects
};

struct FetchFailure {
  protocol::ErrorCode code;  // fetch_denied, fetch_failed, fetch_timeout or server_busy
  std::string message;
};

using FetchOutcome = std::variant<FetchResult, FetchFailure>;
using FetchOwner = const void*;  // e.g. the session: per-client limits and cancel_all

// Counters for /metrics, bumped on the loop.
struct FetchCounters {
  std::uint64_t started = 0;    // accepted by start()
  std::uint64_t succeeded = 0;  // ended with a FetchResult
  std::uint64_t cancelled = 0;  // ended by cancel_all or stop
  std::uint64_t redirects = 0;  // redirects followed
  std::uint64_t body_bytes = 0;
  std::array<std::uint64_t, protocol::kErrorCodeCount> failed{};  // by code, refusals included
};

class Fetcher {
 public:
  // Throws std::invalid_argument on a bad CIDR in limits.allow_cidrs.
  Fetcher(asio::io_context& io, const FetchLimits& limits, const DnsOptions& dns = {});
  ~Fetcher();  // aborts every fetch, without callbacks
  Fetcher(const Fetcher&) = delete;
  Fetcher& operator=(const Fetcher&) = delete;

  // Refuses at once (returns the failure, `done` is not called) a bad URL, a
  // scheme other than http/https, a literal address the policy denies, a
  // fetch over the global or per-owner limit, or any after stop(). Otherwise
  // `done` runs later on the loop, exactly once, unless cancel_all(owner) or
  // stop() comes first.
  std::optional<FetchFailure> start(std::string url, FetchOwner owner,
                                    std::function<void(FetchOutcome)> done);

  // The owner is going away: abort its lookups and transfers, no callbacks.
  void cancel_all(FetchOwner owner);
  // Shutdown: abort every fetch the same way and refuse new ones. Afterwards
  // nothing of the Fetcher is left on the io_context (no socket watch, no
  // timer, no lookup), so it does not keep io.run() from returning.
  void stop();

  std::size_t in_flight() const { return fetches_.size(); }
  std::size_t in_flight(FetchOwner owner) const;
  std::size_t watched_sockets() const { return sockets_.size(); }
  const DnsResolver& resolver() const { return resolver_; }
  const FetchCounters& counters() const { return counters_; }
  const AddressPolicy& policy() const { return policy_; }

  // Tests only: skip the policy checks made before curl starts (on a
  // literal address, on lookup answers), to show that the check on the
  // address being connected to refuses on its own.
  void disable_early_checks_for_testing() { early_checks_ = false; }

 private:
  struct Fetch;
  // One hop's URL, as curl will see it (host in punycode, without brackets).
  struct Target {
    std::string url, scheme, host, port;
  };
  using TargetOrFailure = std::variant<Target, FetchFailure>;

  // `base`: the URL a redirect's Location is relative to; the first hop has none.
  static TargetOrFailure parse_target(const std::string& text, const std::string* base);

  std::optional<FetchFailure> begin_hop(Fetch& fetch, const Target& target);
  void on_resolved(std::uint64_t id, const std::string& error,
                   const std::vector<asio::ip::address>& addresses);
  std::optional<FetchFailure> start_transfer(Fetch& fetch,
                                             const std::vector<asio::ip::address>& addresses,
                                             bool literal);
  void release_transfer(Fetch& fetch);
  void on_transfer_done(Fetch& fetch, CURLcode code);
  void finish(std::uint64_t id, FetchOutcome outcome);
  void release(Fetch& fetch);
  void fail_count(protocol::ErrorCode code) { ++counters_.failed[static_cast<int>(code)]; }

  // curl's multi-socket callbacks.
  static int on_socket(CURL* easy, curl_socket_t fd, int what, void* self, void* socketp);
  static int on_timer(CURLM* multi, long timeout_ms, void* self);
  static curl_socket_t on_open_socket(void* fetch, curlsocktype purpose, curl_sockaddr* address);
  static int on_close_socket(void* self, curl_socket_t fd);
  static int on_prereq(void* fetch, char* primary_ip, char* local_ip, int primary_port,
                       int local_port);
  static std::size_t on_body(char* data, std::size_t size, std::size_t count, void* fetch);
  void socket_action(curl_socket_t fd, int events);
  void drain_completions();

  asio::io_context& io_;
  FetchLimits limits_;
  AddressPolicy policy_;
  DnsResolver resolver_;
  CURLM* multi_ = nullptr;
  asio::steady_timer curl_timer_;
  std::unordered_map<curl_socket_t, FdWatcher> sockets_;  // what curl asked to watch
  std::unordered_map<std::uint64_t, std::unique_ptr<Fetch>> fetches_;
  std::unordered_map<CURL*, std::uint64_t> by_easy_;  // transfer -> fetch id
  std::unordered_map<FetchOwner, std::size_t> per_owner_;
  bool early_checks_ = true;
  bool stopped_ = false;
  std::uint64_t next_id_ = 1;
  FetchCounters counters_;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);  // handlers check it before `this`
};

}  // namespace loopchat
