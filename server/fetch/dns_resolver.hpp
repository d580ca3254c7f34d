// Host name lookups with c-ares, driven by the io_context: c-ares's sockets
// are watched by FdWatchers and its timeouts by a steady_timer, so a lookup
// never blocks the loop and never needs a thread (libcurl's own resolver
// would start one per lookup).
//
// Each lookup has a c-ares channel of its own, because c-ares can cancel
// only every query of a channel at once: cancel() destroys the lookup's
// channel, which closes its sockets and ends its timer at once. The
// configuration (/etc/resolv.conf, or DnsOptions::servers) is read once and
// copied into each channel. /etc/hosts is read first, then DNS ("fb"), as
// the system resolver does.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <asio/io_context.hpp>
#include <asio/ip/address.hpp>

struct ares_addr_port_node;
struct ares_options;
struct ares_addrinfo;

namespace loopchat {

struct DnsOptions {
  // "host:port,..." DNS servers instead of /etc/resolv.conf's (tests).
  std::string servers;
  std::uint32_t query_timeout_ms = 2000;  // per try, per server
  int tries = 2;
};

class DnsResolver {
 public:
  // An empty error means success; the addresses are then not empty.
  using Callback = std::function<void(std::string error, std::vector<asio::ip::address>)>;
  using LookupId = std::uint64_t;

  explicit DnsResolver(asio::io_context& io, const DnsOptions& options = {});
  ~DnsResolver();  // ends every lookup, without callbacks
  DnsResolver(const DnsResolver&) = delete;
  DnsResolver& operator=(const DnsResolver&) = delete;

  // Looks `host` up (A and AAAA). The callback runs later on the loop,
  // exactly once, unless cancel() or stop() comes first. After stop() it
  // runs with an error.
  LookupId resolve(std::string host, Callback done);
  // Ends the lookup now: no callback, and nothing of it stays on the loop.
  void cancel(LookupId id);
  // Ends every lookup the same way, for good (shutdown).
  void stop();

  std::size_t pending() const { return lookups_.size(); }
  std::size_t open_sockets() const;  // c-ares's sockets being watched

 private:
  struct Lookup;

  static void on_sock_state(void* lookup, int fd, int readable, int writable);
  static void on_addrinfo(void* lookup, int status, int timeouts, ::ares_addrinfo* result);
  void process(Lookup& lookup, int read_fd, int write_fd);
  void rearm_timer(Lookup& lookup);
  void answer_later(Lookup& lookup);

  asio::io_context& io_;
  std::unique_ptr<ares_options> config_;    // saved from a channel set up once
  int config_mask_ = 0;                     // which fields of config_ are set
  ares_addr_port_node* servers_ = nullptr;  // with their ports, which config_ lacks
  std::unordered_map<LookupId, std::unique_ptr<Lookup>> lookups_;
  LookupId next_id_ = 1;
  bool stopped_ = false;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);  // handlers check it before `this`
};

}  // namespace loopchat
