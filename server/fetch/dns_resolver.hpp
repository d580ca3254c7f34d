// Host name lookups with c-ares, driven by the io_context: c-ares's sockets
// are watched by asio and its timeouts by a steady_timer, so a lookup never
// blocks the loop and never needs a thread (libcurl's own resolver would
// start one per lookup). One c-ares channel serves the whole process.
//
// /etc/hosts is read first, then DNS ("fb"), as the system resolver does.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <asio/io_context.hpp>
#include <asio/ip/address.hpp>
#include <asio/steady_timer.hpp>

struct ares_channeldata;
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
  ~DnsResolver();  // pending lookups end without their callbacks
  DnsResolver(const DnsResolver&) = delete;
  DnsResolver& operator=(const DnsResolver&) = delete;

  // Looks `host` up (A and AAAA). The callback runs later on the loop,
  // exactly once, unless cancel() is called first.
  LookupId resolve(std::string host, Callback done);
  void cancel(LookupId id);
  std::size_t pending() const { return lookups_.size(); }

 private:
  struct Watch;
  struct Lookup {
    Callback done;
    bool answered = false;
    std::string error;
    std::vector<asio::ip::address> addresses;
  };

  static void on_sock_state(void* self, int fd, int readable, int writable);
  static void on_addrinfo(void* arg, int status, int timeouts, ::ares_addrinfo* result);
  void sock_state(int fd, bool readable, bool writable);
  void arm(const std::shared_ptr<Watch>& watch, bool read);
  void process(int read_fd, int write_fd);
  void rearm_timer();
  void answered(LookupId id, std::string error, std::vector<asio::ip::address> addresses);

  asio::io_context& io_;
  ares_channeldata* channel_ = nullptr;
  asio::steady_timer timer_;
  std::unordered_map<int, std::shared_ptr<Watch>> watches_;
  std::unordered_map<LookupId, Lookup> lookups_;
  LookupId next_id_ = 1;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);  // handlers check it before `this`
};

}  // namespace loopchat
