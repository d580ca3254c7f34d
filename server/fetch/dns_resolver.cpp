#include "server/fetch/dns_resolver.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <stdexcept>

#include <ares.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/post.hpp>

namespace loopchat {

// A socket of c-ares, watched by asio. c-ares owns the descriptor: asio lets
// go of it (release) when c-ares says it is about to close it.
struct DnsResolver::Watch {
  Watch(asio::io_context& io, int fd) : descriptor(io, fd), fd(fd) {}
  asio::posix::stream_descriptor descriptor;
  int fd;
  bool want_read = false, want_write = false;
  bool reading = false, writing = false;  // an async_wait is pending
  bool closed = false;
};

namespace {

struct CallbackArg {
  DnsResolver* resolver;
  DnsResolver::LookupId id;
};

std::vector<asio::ip::address> addresses_of(const ares_addrinfo* result) {
  std::vector<asio::ip::address> addresses;
  for (auto* node = result ? result->nodes : nullptr; node; node = node->ai_next) {
    asio::ip::address address;
    if (node->ai_family == AF_INET) {
      sockaddr_in sin;
      std::memcpy(&sin, node->ai_addr, sizeof sin);
      address = asio::ip::address_v4(ntohl(sin.sin_addr.s_addr));
    } else if (node->ai_family == AF_INET6) {
      sockaddr_in6 sin6;
      std::memcpy(&sin6, node->ai_addr, sizeof sin6);
      asio::ip::address_v6::bytes_type bytes;
      std::memcpy(bytes.data(), &sin6.sin6_addr, bytes.size());
      address = asio::ip::address_v6(bytes, sin6.sin6_scope_id);
    } else {
      continue;
    }
    if (std::find(addresses.begin(), addresses.end(), address) == addresses.end())
      addresses.push_back(address);
  }
  return addresses;
}

}  // namespace

DnsResolver::DnsResolver(asio::io_context& io, const DnsOptions& options) : io_(io), timer_(io) {
  if (int rc = ares_library_init(ARES_LIB_INIT_ALL); rc != ARES_SUCCESS)
    throw std::runtime_error(std::string("c-ares: ") + ares_strerror(rc));
  ares_options opts{};
  opts.sock_state_cb = &DnsResolver::on_sock_state;
  opts.sock_state_cb_data = this;
  char lookups[] = "fb";
  opts.lookups = lookups;
  opts.timeout = static_cast<int>(options.query_timeout_ms);
  opts.tries = options.tries;
  const int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_LOOKUPS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;
  int rc = ares_init_options(&channel_, &opts, mask);
  if (rc == ARES_SUCCESS && !options.servers.empty())
    rc = ares_set_servers_ports_csv(channel_, options.servers.c_str());
  if (rc != ARES_SUCCESS) {
    if (channel_) ares_destroy(channel_);
    ares_library_cleanup();
    throw std::runtime_error(std::string("c-ares: ") + ares_strerror(rc));
  }
}

DnsResolver::~DnsResolver() {
  alive_.reset();
  lookups_.clear();
  ares_destroy(channel_);  // pending queries end with ARES_EDESTRUCTION; sockets close
  for (auto& [fd, watch] : watches_) {
    watch->closed = true;
    watch->descriptor.release();
  }
  ares_library_cleanup();
}

DnsResolver::LookupId DnsResolver::resolve(std::string host, Callback done) {
  const LookupId id = next_id_++;
  lookups_.emplace(id, Lookup{std::move(done), false, {}, {}});
  ares_addrinfo_hints hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_flags = ARES_AI_NOSORT;
  // May answer at once (from /etc/hosts): answered() defers the callback.
  ares_getaddrinfo(channel_, host.c_str(), nullptr, &hints, &DnsResolver::on_addrinfo,
                   new CallbackArg{this, id});
  rearm_timer();
  return id;
}

void DnsResolver::cancel(LookupId id) {
  // The query itself runs on to its answer or c-ares's timeout; its result
  // is dropped. (c-ares can only cancel every query of a channel at once.)
  lookups_.erase(id);
}

void DnsResolver::on_addrinfo(void* arg, int status, int, ares_addrinfo* result) {
  std::unique_ptr<CallbackArg> callback(static_cast<CallbackArg*>(arg));
  auto addresses = addresses_of(result);
  if (result) ares_freeaddrinfo(result);
  if (status == ARES_EDESTRUCTION) return;  // the resolver is being destroyed
  std::string error;
  if (status != ARES_SUCCESS)
    error = ares_strerror(status);
  else if (addresses.empty())
    error = "no addresses";
  callback->resolver->answered(callback->id, std::move(error), std::move(addresses));
}

void DnsResolver::answered(LookupId id, std::string error,
                           std::vector<asio::ip::address> addresses) {
  auto it = lookups_.find(id);
  if (it == lookups_.end()) return;  // cancelled
  it->second.answered = true;
  it->second.error = std::move(error);
  it->second.addresses = std::move(addresses);
  asio::post(io_, [this, alive = std::weak_ptr<int>(alive_), id] {
    if (!alive.lock()) return;
    auto it = lookups_.find(id);
    if (it == lookups_.end()) return;  // cancelled after the answer
    Lookup lookup = std::move(it->second);
    lookups_.erase(it);
    lookup.done(std::move(lookup.error), std::move(lookup.addresses));
  });
}

void DnsResolver::on_sock_state(void* self, int fd, int readable, int writable) {
  static_cast<DnsResolver*>(self)->sock_state(fd, readable != 0, writable != 0);
}

void DnsResolver::sock_state(int fd, bool readable, bool writable) {
  auto it = watches_.find(fd);
  if (!readable && !writable) {  // c-ares is closing the socket
    if (it == watches_.end()) return;
    it->second->closed = true;
    it->second->descriptor.release();
    watches_.erase(it);
    return;
  }
  if (it == watches_.end()) it = watches_.emplace(fd, std::make_shared<Watch>(io_, fd)).first;
  auto watch = it->second;
  watch->want_read = readable;
  watch->want_write = writable;
  if (readable && !watch->reading) arm(watch, true);
  if (writable && !watch->writing) arm(watch, false);
}

void DnsResolver::arm(const std::shared_ptr<Watch>& watch, bool read) {
  (read ? watch->reading : watch->writing) = true;
  const auto wait =
      read ? asio::posix::stream_descriptor::wait_read : asio::posix::stream_descriptor::wait_write;
  watch->descriptor.async_wait(
      wait, [this, alive = std::weak_ptr<int>(alive_), watch, read](std::error_code ec) {
        if (!alive.lock()) return;
        (read ? watch->reading : watch->writing) = false;
        if (watch->closed || ec == asio::error::operation_aborted) return;
        if (!(read ? watch->want_read : watch->want_write)) return;
        process(read ? watch->fd : ARES_SOCKET_BAD, read ? ARES_SOCKET_BAD : watch->fd);
        if (!watch->closed && (read ? watch->want_read : watch->want_write) &&
            !(read ? watch->reading : watch->writing))
          arm(watch, read);
      });
}

void DnsResolver::process(int read_fd, int write_fd) {
  ares_process_fd(channel_, read_fd, write_fd);
  rearm_timer();
}

void DnsResolver::rearm_timer() {
  timeval tv{};
  if (!ares_timeout(channel_, nullptr, &tv)) {
    timer_.cancel();
    return;
  }
  timer_.expires_after(std::chrono::seconds(tv.tv_sec) + std::chrono::microseconds(tv.tv_usec));
  timer_.async_wait([this, alive = std::weak_ptr<int>(alive_)](std::error_code ec) {
    if (!alive.lock() || ec) return;
    process(ARES_SOCKET_BAD, ARES_SOCKET_BAD);
  });
}

}  // namespace loopchat
