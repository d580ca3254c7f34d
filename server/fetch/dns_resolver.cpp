#include "server/fetch/dns_resolver.hpp"

#include <algorithm>
#include <chrono>
#include <stdexcept>

#include <ares.h>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>

#include "server/fetch/socket_address.hpp"
#include "server/transport/fd_watcher.hpp"

namespace loopchat {

// One lookup and the channel that runs it. Destroying it ends the query:
// ares_destroy closes the channel's sockets, telling on_sock_state first,
// which drops their watchers before the descriptors close.
struct DnsResolver::Lookup {
  Lookup(DnsResolver& resolver, LookupId id, Callback done)
      : resolver(resolver), id(id), done(std::move(done)), timer(resolver.io_) {}
  ~Lookup() {
    if (channel) ares_destroy(channel);  // on_addrinfo sees ARES_EDESTRUCTION
  }
  DnsResolver& resolver;
  const LookupId id;
  Callback done;
  ares_channel channel = nullptr;
  asio::steady_timer timer;                    // c-ares's next timeout
  std::unordered_map<int, FdWatcher> sockets;  // c-ares's sockets, by descriptor
  bool answered = false;
  std::string error;
  std::vector<asio::ip::address> addresses;
};

namespace {

std::vector<asio::ip::address> addresses_of(const ares_addrinfo* result) {
  std::vector<asio::ip::address> addresses;
  for (auto* node = result ? result->nodes : nullptr; node; node = node->ai_next) {
    const auto address = address_of(node->ai_addr, node->ai_addrlen);
    if (address && std::find(addresses.begin(), addresses.end(), *address) == addresses.end())
      addresses.push_back(*address);
  }
  return addresses;
}

std::runtime_error ares_failure(int rc) {
  return std::runtime_error(std::string("c-ares: ") + ares_strerror(rc));
}

}  // namespace

// The configuration is read by setting one channel up; each lookup's channel
// is made from what that one saved, so no lookup reads a file for it.
DnsResolver::DnsResolver(asio::io_context& io, const DnsOptions& options)
    : io_(io), config_(std::make_unique<ares_options>()) {
  if (int rc = ares_library_init(ARES_LIB_INIT_ALL); rc != ARES_SUCCESS) throw ares_failure(rc);
  ares_options opts{};
  opts.sock_state_cb = &DnsResolver::on_sock_state;
  char lookups[] = "fb";
  opts.lookups = lookups;
  opts.timeout = static_cast<int>(options.query_timeout_ms);
  opts.tries = options.tries;
  const int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_LOOKUPS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;
  ares_channel channel = nullptr;
  int rc = ares_init_options(&channel, &opts, mask);
  if (rc == ARES_SUCCESS && !options.servers.empty())
    rc = ares_set_servers_ports_csv(channel, options.servers.c_str());
  if (rc == ARES_SUCCESS) rc = ares_save_options(channel, config_.get(), &config_mask_);
  if (rc == ARES_SUCCESS) rc = ares_get_servers_ports(channel, &servers_);
  if (channel) ares_destroy(channel);
  if (rc != ARES_SUCCESS) {
    ares_destroy_options(config_.get());
    ares_library_cleanup();
    throw ares_failure(rc);
  }
}

DnsResolver::~DnsResolver() {
  alive_.reset();
  lookups_.clear();
  if (servers_) ares_free_data(servers_);
  ares_destroy_options(config_.get());
  ares_library_cleanup();
}

DnsResolver::LookupId DnsResolver::resolve(std::string host, Callback done) {
  const LookupId id = next_id_++;
  auto& lookup =
      *lookups_.emplace(id, std::make_unique<Lookup>(*this, id, std::move(done))).first->second;
  if (stopped_) {
    lookup.error = "the resolver is stopped";
    answer_later(lookup);
    return id;
  }
  ares_options options = *config_;
  options.sock_state_cb_data = &lookup;
  int rc = ares_init_options(&lookup.channel, &options, config_mask_);
  if (rc == ARES_SUCCESS && servers_) rc = ares_set_servers_ports(lookup.channel, servers_);
  if (rc != ARES_SUCCESS) {
    lookup.error = ares_strerror(rc);
    answer_later(lookup);
    return id;
  }
  ares_addrinfo_hints hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_flags = ARES_AI_NOSORT;
  // May answer at once (from /etc/hosts): answer_later() defers the callback.
  ares_getaddrinfo(lookup.channel, host.c_str(), nullptr, &hints, &DnsResolver::on_addrinfo,
                   &lookup);
  rearm_timer(lookup);
  return id;
}

void DnsResolver::cancel(LookupId id) {
  lookups_.erase(id);  // never from inside c-ares: its callbacks only record and post
}

void DnsResolver::stop() {
  stopped_ = true;
  lookups_.clear();
}

std::size_t DnsResolver::open_sockets() const {
  std::size_t count = 0;
  for (const auto& [id, lookup] : lookups_) count += lookup->sockets.size();
  return count;
}

void DnsResolver::on_addrinfo(void* arg, int status, int, ares_addrinfo* result) {
  auto& lookup = *static_cast<Lookup*>(arg);
  auto addresses = addresses_of(result);
  if (result) ares_freeaddrinfo(result);
  if (status == ARES_EDESTRUCTION) return;  // cancelled: the lookup is being destroyed
  if (status != ARES_SUCCESS)
    lookup.error = ares_strerror(status);
  else if (addresses.empty())
    lookup.error = "no addresses";
  lookup.addresses = std::move(addresses);
  lookup.resolver.answer_later(lookup);
}

// The callback runs from the loop, outside c-ares, where the lookup (and
// its channel) may be destroyed.
void DnsResolver::answer_later(Lookup& lookup) {
  lookup.answered = true;
  asio::post(io_, [this, alive = std::weak_ptr<int>(alive_), id = lookup.id] {
    if (!alive.lock()) return;
    const auto it = lookups_.find(id);
    if (it == lookups_.end()) return;  // cancelled after the answer
    std::unique_ptr<Lookup> lookup = std::move(it->second);
    lookups_.erase(it);
    auto done = std::move(lookup->done);
    auto error = std::move(lookup->error);
    auto addresses = std::move(lookup->addresses);
    lookup.reset();
    done(std::move(error), std::move(addresses));
  });
}

void DnsResolver::on_sock_state(void* arg, int fd, int readable, int writable) {
  auto& lookup = *static_cast<Lookup*>(arg);
  if (!readable && !writable) {  // c-ares is about to close the socket
    lookup.sockets.erase(fd);
    return;
  }
  auto [it, added] = lookup.sockets.try_emplace(
      fd, lookup.resolver.io_, fd, [&lookup, fd](FdWatcher::Ready ready, std::error_code) {
        // c-ares reads or writes the socket and learns of any error itself.
        const bool read = ready == FdWatcher::Ready::read;
        lookup.resolver.process(lookup, read ? fd : ARES_SOCKET_BAD, read ? ARES_SOCKET_BAD : fd);
      });
  it->second.watch(readable != 0, writable != 0);
}

void DnsResolver::process(Lookup& lookup, int read_fd, int write_fd) {
  ares_process_fd(lookup.channel, read_fd, write_fd);
  rearm_timer(lookup);
}

void DnsResolver::rearm_timer(Lookup& lookup) {
  timeval tv{};
  if (lookup.answered || !ares_timeout(lookup.channel, nullptr, &tv)) {
    lookup.timer.cancel();
    return;
  }
  lookup.timer.expires_after(std::chrono::seconds(tv.tv_sec) +
                             std::chrono::microseconds(tv.tv_usec));
  // By id: a completion already queued may run after the lookup is gone.
  lookup.timer.async_wait(
      [this, alive = std::weak_ptr<int>(alive_), id = lookup.id](std::error_code ec) {
        if (!alive.lock() || ec) return;
        if (const auto it = lookups_.find(id); it != lookups_.end())
          process(*it->second, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
      });
}

}  // namespace loopchat
