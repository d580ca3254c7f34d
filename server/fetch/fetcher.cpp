#include "server/fetch/fetcher.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include <curl/header.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <asio/posix/stream_descriptor.hpp>

#include "server/fetch/html_title.hpp"

namespace loopchat {

using protocol::ErrorCode;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::size_t kTitleScanBytes = 64 * 1024;  // of the body, kept for <title>

// "fetches to 127.0.0.1 (loopback) are denied"
std::string describe_denied(const asio::ip::address& address, std::string_view range) {
  return "fetches to " + address.to_string() + " (" + std::string(range) + ") are denied";
}

std::optional<asio::ip::address> address_of(const sockaddr_storage& storage) {
  if (storage.ss_family == AF_INET) {
    sockaddr_in sin;
    std::memcpy(&sin, &storage, sizeof sin);
    return asio::ip::address_v4(ntohl(sin.sin_addr.s_addr));
  }
  if (storage.ss_family == AF_INET6) {
    sockaddr_in6 sin6;
    std::memcpy(&sin6, &storage, sizeof sin6);
    asio::ip::address_v6::bytes_type bytes;
    std::memcpy(bytes.data(), &sin6.sin6_addr, bytes.size());
    return asio::ip::address_v6(bytes, sin6.sin6_scope_id);
  }
  return std::nullopt;
}

bool is_redirect(long status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

}  // namespace

// A socket of curl's, opened by on_open_socket and owned by asio, which closes
// it when curl asks (on_close_socket). `owned` is false only for a socket curl
// reports without having opened it through us: asio then lets go of it.
struct Fetcher::Sock {
  Sock(asio::io_context& io, curl_socket_t fd, bool owned)
      : descriptor(io, fd), fd(fd), owned(owned) {}
  asio::posix::stream_descriptor descriptor;
  curl_socket_t fd;
  bool owned;
  bool want_read = false, want_write = false;  // what curl asked for
  bool reading = false, writing = false;       // an async_wait is pending
  bool closed = false;
};

// One fetch, across its lookups and hops. At most one of `lookup` and `easy`
// is live at a time.
struct Fetcher::Fetch {
  Fetch(Fetcher& fetcher, asio::io_context& io) : fetcher(fetcher), deadline(io) {}
  Fetcher& fetcher;
  std::uint64_t id = 0;
  FetchOwner owner = nullptr;
  std::function<void(FetchOutcome)> done;
  std::string requested_url;
  Target target;  // the current hop
  unsigned redirects = 0;
  Clock::time_point started = Clock::now();
  asio::steady_timer deadline;
  DnsResolver::LookupId lookup = 0;
  CURL* easy = nullptr;
  curl_slist* resolve = nullptr;
  std::string head;  // the first kTitleScanBytes of the body
  std::uint64_t bytes = 0;
  bool capped = false;                // the body reached max_body_bytes
  std::optional<std::string> denied;  // why the policy refused a connection
  char error[CURL_ERROR_SIZE] = {};
};

// ------------------------------------------------------------------ set-up

Fetcher::Fetcher(asio::io_context& io, const FetchLimits& limits, const DnsOptions& dns)
    : io_(io), limits_(limits), policy_(limits.allow_cidrs), resolver_(io, dns), curl_timer_(io) {
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
    throw std::runtime_error("curl_global_init failed");
  multi_ = curl_multi_init();
  if (!multi_) {
    curl_global_cleanup();
    throw std::runtime_error("curl_multi_init failed");
  }
  curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &Fetcher::on_socket);
  curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &Fetcher::on_timer);
  curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
}

Fetcher::~Fetcher() {
  alive_.reset();
  for (auto& [id, fetch] : fetches_) release(*fetch);
  fetches_.clear();
  curl_multi_cleanup(multi_);  // closes what is left through on_close_socket
  for (auto& [fd, sock] : sockets_) {
    sock->closed = true;
    if (!sock->owned) sock->descriptor.release();
  }
  sockets_.clear();
  curl_global_cleanup();
}

Fetcher::TargetOrFailure Fetcher::parse_target(const std::string& text, const std::string* base) {
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> url(curl_url(), &curl_url_cleanup);
  if (!url) return FetchFailure{ErrorCode::fetch_failed, "out of memory"};
  const unsigned flags = CURLU_NON_SUPPORT_SCHEME;
  CURLUcode rc = CURLUE_OK;
  if (base) rc = curl_url_set(url.get(), CURLUPART_URL, base->c_str(), flags);
  if (rc == CURLUE_OK) rc = curl_url_set(url.get(), CURLUPART_URL, text.c_str(), flags);
  if (rc != CURLUE_OK)
    return FetchFailure{ErrorCode::fetch_failed,
                        "bad URL '" + text + "': " + curl_url_strerror(rc)};
  const auto part = [&](CURLUPart which, unsigned get_flags) -> std::optional<std::string> {
    char* value = nullptr;
    if (curl_url_get(url.get(), which, &value, get_flags) != CURLUE_OK) return std::nullopt;
    std::string copy(value);
    curl_free(value);
    return copy;
  };
  Target target;
  target.scheme = part(CURLUPART_SCHEME, 0).value_or("");
  if (target.scheme != "http" && target.scheme != "https")
    return FetchFailure{ErrorCode::fetch_denied,
                        "scheme '" + target.scheme + "' is not allowed (http and https only)"};
  auto host = part(CURLUPART_HOST, CURLU_PUNYCODE);
  auto port = part(CURLUPART_PORT, CURLU_DEFAULT_PORT);
  auto full = part(CURLUPART_URL, CURLU_PUNYCODE);
  if (!host || host->empty() || !port || !full)
    return FetchFailure{ErrorCode::fetch_failed, "bad URL '" + text + "': no host"};
  if (host->size() > 2 && host->front() == '[' && host->back() == ']')
    *host = host->substr(1, host->size() - 2);
  // curl must never see a name it would have to look up itself.
  if (std::any_of(host->begin(), host->end(), [](char c) { return c & 0x80; }))
    return FetchFailure{ErrorCode::fetch_failed, "bad URL '" + text + "': bad host name"};
  target.host = std::move(*host);
  target.port = std::move(*port);
  target.url = std::move(*full);
  return target;
}

// ------------------------------------------------------------------ fetches

std::optional<FetchFailure> Fetcher::start(std::string url, FetchOwner owner,
                                           std::function<void(FetchOutcome)> done) {
  auto refuse = [&](FetchFailure failure) {
    fail_count(failure.code);
    return std::optional<FetchFailure>(std::move(failure));
  };
  auto parsed = parse_target(url, nullptr);
  if (auto* failure = std::get_if<FetchFailure>(&parsed)) return refuse(std::move(*failure));
  if (fetches_.size() >= limits_.max_concurrent)
    return refuse({ErrorCode::server_busy,
                   "too many fetches in flight (" + std::to_string(limits_.max_concurrent) + ")"});
  if (in_flight(owner) >= limits_.max_per_client)
    return refuse({ErrorCode::server_busy, "too many fetches of yours in flight (" +
                                               std::to_string(limits_.max_per_client) + ")"});

  const auto id = next_id_++;
  auto& fetch = *fetches_.emplace(id, std::make_unique<Fetch>(*this, io_)).first->second;
  fetch.id = id;
  fetch.owner = owner;
  fetch.done = std::move(done);
  fetch.requested_url = std::move(url);
  ++per_owner_[owner];
  fetch.deadline.expires_at(fetch.started + std::chrono::milliseconds(limits_.timeout_ms));
  fetch.deadline.async_wait([this, alive = std::weak_ptr<int>(alive_), id](std::error_code ec) {
    if (!alive.lock() || ec) return;
    finish(id,
           FetchFailure{ErrorCode::fetch_timeout,
                        "no complete answer within " + std::to_string(limits_.timeout_ms) + " ms"});
  });
  if (auto failure = begin_hop(fetch, std::get<Target>(parsed))) {
    release(fetch);
    if (--per_owner_[owner] == 0) per_owner_.erase(owner);
    fetches_.erase(id);
    return refuse(std::move(*failure));
  }
  ++counters_.started;
  return std::nullopt;
}

void Fetcher::cancel_all(FetchOwner owner) {
  if (!per_owner_.count(owner)) return;
  for (auto it = fetches_.begin(); it != fetches_.end();) {
    if (it->second->owner == owner) {
      release(*it->second);
      ++counters_.cancelled;
      it = fetches_.erase(it);
    } else {
      ++it;
    }
  }
  per_owner_.erase(owner);
}

std::size_t Fetcher::in_flight(FetchOwner owner) const {
  const auto it = per_owner_.find(owner);
  return it == per_owner_.end() ? 0 : it->second;
}

// Starts a hop: a literal address is checked at once, a name is looked up.
std::optional<FetchFailure> Fetcher::begin_hop(Fetch& fetch, const Target& target) {
  fetch.target = target;
  std::error_code ec;
  const auto literal = asio::ip::make_address(target.host, ec);
  if (!ec) {
    if (auto range = policy_.denied_range(literal); range && early_checks_)
      return FetchFailure{ErrorCode::fetch_denied, describe_denied(literal, *range)};
    return start_transfer(fetch, {literal}, true);
  }
  fetch.lookup = resolver_.resolve(
      target.host, [this, id = fetch.id](std::string error, std::vector<asio::ip::address> found) {
        on_resolved(id, error, found);
      });
  return std::nullopt;
}

void Fetcher::on_resolved(std::uint64_t id, const std::string& error,
                          const std::vector<asio::ip::address>& addresses) {
  const auto it = fetches_.find(id);
  if (it == fetches_.end()) return;
  auto& fetch = *it->second;
  fetch.lookup = 0;
  const auto& host = fetch.target.host;
  if (!error.empty())
    return finish(id,
                  FetchFailure{ErrorCode::fetch_failed, "cannot resolve " + host + ": " + error});
  // Only allowed addresses go to curl; if there are none, say why.
  std::vector<asio::ip::address> allowed;
  std::string denied;
  for (const auto& address : addresses) {
    if (auto range = policy_.denied_range(address); range && early_checks_) {
      if (denied.empty())
        denied = host + " resolves to " + address.to_string() + " (" + std::string(*range) +
                 "): fetches there are denied";
    } else {
      allowed.push_back(address);
    }
  }
  if (allowed.empty()) return finish(id, FetchFailure{ErrorCode::fetch_denied, denied});
  if (auto failure = start_transfer(fetch, allowed, false)) finish(id, std::move(*failure));
}

std::optional<FetchFailure> Fetcher::start_transfer(Fetch& fetch,
                                                    const std::vector<asio::ip::address>& addresses,
                                                    bool literal) {
  CURL* easy = curl_easy_init();
  if (!easy) return FetchFailure{ErrorCode::fetch_failed, "out of memory"};
  fetch.easy = easy;
  by_easy_[easy] = fetch.id;
  fetch.error[0] = '\0';
  fetch.bytes = 0;
  fetch.head.clear();
  fetch.capped = false;
  fetch.denied.reset();

  if (!literal) {
    // "+": the entry ages out of curl's DNS cache like a looked-up one.
    std::string entry = "+" + fetch.target.host + ":" + fetch.target.port + ":";
    for (std::size_t i = 0; i < addresses.size(); ++i) {
      if (i) entry += ',';
      const auto& address = addresses[i];
      entry += address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
    }
    fetch.resolve = curl_slist_append(nullptr, entry.c_str());
    curl_easy_setopt(easy, CURLOPT_RESOLVE, fetch.resolve);
  }
  // curl's own timeout is only a backstop: the deadline timer, a little
  // earlier, is the one that reports fetch_timeout.
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      fetch.deadline.expiry() + std::chrono::milliseconds(250) - Clock::now());
  curl_easy_setopt(easy, CURLOPT_URL, fetch.target.url.c_str());
  curl_easy_setopt(easy, CURLOPT_PRIVATE, &fetch);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, fetch.error);
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);  // followed here, each hop checked
  curl_easy_setopt(easy, CURLOPT_PROXY, "");           // no proxy, not even from the environment
  curl_easy_setopt(easy, CURLOPT_FORBID_REUSE, 1L);
  curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
  curl_easy_setopt(easy, CURLOPT_USERAGENT, "loopchat-link-preview/1");
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(std::max<std::int64_t>(1, left.count())));
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &Fetcher::on_body);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &fetch);
  curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, &Fetcher::on_open_socket);
  curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, &fetch);
  curl_easy_setopt(easy, CURLOPT_CLOSESOCKETFUNCTION, &Fetcher::on_close_socket);
  curl_easy_setopt(easy, CURLOPT_CLOSESOCKETDATA, this);
  curl_easy_setopt(easy, CURLOPT_PREREQFUNCTION, &Fetcher::on_prereq);
  curl_easy_setopt(easy, CURLOPT_PREREQDATA, &fetch);
  if (const auto rc = curl_multi_add_handle(multi_, easy); rc != CURLM_OK)
    return FetchFailure{ErrorCode::fetch_failed, curl_multi_strerror(rc)};
  return std::nullopt;
}

void Fetcher::on_transfer_done(Fetch& fetch, CURLcode code) {
  long status = 0;
  curl_easy_getinfo(fetch.easy, CURLINFO_RESPONSE_CODE, &status);
  std::string content_type;
  if (char* type = nullptr;
      curl_easy_getinfo(fetch.easy, CURLINFO_CONTENT_TYPE, &type) == CURLE_OK && type)
    content_type = type;
  std::optional<std::string> location;
  if (curl_header* header = nullptr;
      code == CURLE_OK && is_redirect(status) &&
      curl_easy_header(fetch.easy, "Location", 0, CURLH_HEADER, -1, &header) == CURLHE_OK)
    location = header->value;
  release_transfer(fetch);

  const auto id = fetch.id;
  if (fetch.denied) return finish(id, FetchFailure{ErrorCode::fetch_denied, *fetch.denied});
  if (code != CURLE_OK && !(code == CURLE_WRITE_ERROR && fetch.capped)) {
    std::string message = fetch.error[0] ? fetch.error : curl_easy_strerror(code);
    const auto error_code =
        code == CURLE_OPERATION_TIMEDOUT ? ErrorCode::fetch_timeout : ErrorCode::fetch_failed;
    return finish(id, FetchFailure{error_code, std::move(message)});
  }
  if (location && !location->empty()) {
    if (fetch.redirects >= limits_.max_redirects)
      return finish(id, FetchFailure{ErrorCode::fetch_failed,
                                     "too many redirects (more than " +
                                         std::to_string(limits_.max_redirects) + ")"});
    ++fetch.redirects;
    ++counters_.redirects;
    auto next = parse_target(*location, &fetch.target.url);
    if (auto* failure = std::get_if<FetchFailure>(&next)) {
      failure->message = "redirect refused: " + failure->message;
      return finish(id, std::move(*failure));
    }
    if (auto failure = begin_hop(fetch, std::get<Target>(next))) {
      failure->message = "redirect refused: " + failure->message;
      finish(id, std::move(*failure));
    }
    return;
  }
  FetchResult result;
  result.status = static_cast<int>(status);
  result.bytes = fetch.bytes;
  result.ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - fetch.started).count();
  if (is_html_content_type(content_type)) result.title = extract_title(fetch.head);
  result.url = fetch.requested_url;
  result.final_url = fetch.target.url;
  finish(id, std::move(result));
}

// Ends a fetch: frees it, then calls its callback (which may start others).
void Fetcher::finish(std::uint64_t id, FetchOutcome outcome) {
  const auto it = fetches_.find(id);
  if (it == fetches_.end()) return;
  std::unique_ptr<Fetch> fetch = std::move(it->second);
  fetches_.erase(it);
  release(*fetch);
  if (--per_owner_[fetch->owner] == 0) per_owner_.erase(fetch->owner);
  if (const auto* result = std::get_if<FetchResult>(&outcome)) {
    ++counters_.succeeded;
    counters_.body_bytes += result->bytes;
  } else {
    fail_count(std::get<FetchFailure>(outcome).code);
  }
  auto done = std::move(fetch->done);
  fetch.reset();
  done(std::move(outcome));
}

void Fetcher::release(Fetch& fetch) {
  if (fetch.lookup) resolver_.cancel(std::exchange(fetch.lookup, 0));
  release_transfer(fetch);
  fetch.deadline.cancel();
}

void Fetcher::release_transfer(Fetch& fetch) {
  if (fetch.easy) {
    by_easy_.erase(fetch.easy);
    curl_multi_remove_handle(multi_, fetch.easy);
    curl_easy_cleanup(std::exchange(fetch.easy, nullptr));
  }
  if (fetch.resolve) curl_slist_free_all(std::exchange(fetch.resolve, nullptr));
}

// ------------------------------------------------------------------ curl callbacks

std::size_t Fetcher::on_body(char* data, std::size_t size, std::size_t count, void* clientp) {
  auto& fetch = *static_cast<Fetch*>(clientp);
  const std::size_t length = size * count;
  const std::size_t room = fetch.fetcher.limits_.max_body_bytes - fetch.bytes;
  const std::size_t take = std::min(length, room);
  fetch.bytes += take;
  if (fetch.head.size() < kTitleScanBytes)
    fetch.head.append(data, std::min(take, kTitleScanBytes - fetch.head.size()));
  if (take < length) fetch.capped = true;  // returning less makes curl stop the transfer
  return take;
}

curl_socket_t Fetcher::on_open_socket(void* clientp, curlsocktype purpose, curl_sockaddr* address) {
  auto& fetch = *static_cast<Fetch*>(clientp);
  auto& self = fetch.fetcher;
  if (purpose != CURLSOCKTYPE_IPCXN) return CURL_SOCKET_BAD;
  sockaddr_storage storage{};
  std::memcpy(&storage, &address->addr, std::min<std::size_t>(address->addrlen, sizeof storage));
  const auto ip = address_of(storage);
  if (!ip) {
    fetch.denied = "not an IP address";
    return CURL_SOCKET_BAD;
  }
  // The rule that matters: checked on the address about to be connected to.
  if (auto range = self.policy_.denied_range(*ip)) {
    fetch.denied = describe_denied(*ip, *range);
    return CURL_SOCKET_BAD;
  }
  const int fd = ::socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
  if (fd < 0) return CURL_SOCKET_BAD;
  self.sockets_[fd] = std::make_shared<Sock>(self.io_, fd, true);
  return fd;
}

int Fetcher::on_close_socket(void* clientp, curl_socket_t fd) {
  auto& self = *static_cast<Fetcher*>(clientp);
  const auto it = self.sockets_.find(fd);
  if (it == self.sockets_.end()) return ::close(fd);
  auto sock = it->second;
  self.sockets_.erase(it);
  sock->closed = true;
  std::error_code ec;
  if (sock->owned) {
    sock->descriptor.close(ec);
  } else {
    sock->descriptor.release();
    ::close(fd);
  }
  return 0;
}

int Fetcher::on_prereq(void* clientp, char* primary_ip, char*, int, int) {
  // A second look at the connected peer, for connections not opened by
  // on_open_socket (there should be none).
  auto& fetch = *static_cast<Fetch*>(clientp);
  std::error_code ec;
  const auto ip = asio::ip::make_address(primary_ip, ec);
  if (ec) {
    fetch.denied = std::string("unexpected peer address ") + primary_ip;
    return CURL_PREREQFUNC_ABORT;
  }
  if (auto range = fetch.fetcher.policy_.denied_range(ip)) {
    fetch.denied = describe_denied(ip, *range);
    return CURL_PREREQFUNC_ABORT;
  }
  return CURL_PREREQFUNC_OK;
}

int Fetcher::on_socket(CURL*, curl_socket_t fd, int what, void* clientp, void*) {
  auto& self = *static_cast<Fetcher*>(clientp);
  auto it = self.sockets_.find(fd);
  if (what == CURL_POLL_REMOVE) {
    if (it == self.sockets_.end()) return 0;
    auto sock = it->second;
    sock->want_read = sock->want_write = false;
    if (!sock->owned) {
      sock->closed = true;
      sock->descriptor.release();
      self.sockets_.erase(it);
    } else {
      std::error_code ec;
      sock->descriptor.cancel(ec);
    }
    return 0;
  }
  if (it == self.sockets_.end())
    it = self.sockets_.emplace(fd, std::make_shared<Sock>(self.io_, fd, false)).first;
  auto sock = it->second;
  sock->want_read = what == CURL_POLL_IN || what == CURL_POLL_INOUT;
  sock->want_write = what == CURL_POLL_OUT || what == CURL_POLL_INOUT;
  if (sock->want_read && !sock->reading) self.watch(sock, true);
  if (sock->want_write && !sock->writing) self.watch(sock, false);
  return 0;
}

// Rule: whenever curl wants an event on a socket, a wait for it is pending by
// the time control returns to the loop (asio's epoll is edge-triggered).
void Fetcher::watch(const std::shared_ptr<Sock>& sock, bool read) {
  (read ? sock->reading : sock->writing) = true;
  const auto wait =
      read ? asio::posix::stream_descriptor::wait_read : asio::posix::stream_descriptor::wait_write;
  sock->descriptor.async_wait(wait, [this, alive = std::weak_ptr<int>(alive_), sock,
                                     read](std::error_code ec) {
    if (!alive.lock()) return;
    (read ? sock->reading : sock->writing) = false;
    if (sock->closed) return;
    const auto wanted = [&] { return read ? sock->want_read : sock->want_write; };
    if (ec != asio::error::operation_aborted && wanted())
      socket_action(sock->fd, ec ? CURL_CSELECT_ERR : (read ? CURL_CSELECT_IN : CURL_CSELECT_OUT));
    if (!sock->closed && wanted() && !(read ? sock->reading : sock->writing)) watch(sock, read);
  });
}

int Fetcher::on_timer(CURLM*, long timeout_ms, void* clientp) {
  auto& self = *static_cast<Fetcher*>(clientp);
  if (timeout_ms < 0) {
    self.curl_timer_.cancel();
    return 0;
  }
  // Not socket_action from here: curl forbids it inside its callbacks.
  self.curl_timer_.expires_after(std::chrono::milliseconds(timeout_ms));
  self.curl_timer_.async_wait([&self, alive = std::weak_ptr<int>(self.alive_)](std::error_code ec) {
    if (!alive.lock() || ec) return;
    self.socket_action(CURL_SOCKET_TIMEOUT, 0);
  });
  return 0;
}

void Fetcher::socket_action(curl_socket_t fd, int events) {
  int running = 0;
  curl_multi_socket_action(multi_, fd, events, &running);
  drain_completions();
}

void Fetcher::drain_completions() {
  // Collected first: a completion's callback may start or cancel others.
  struct Completion {
    std::uint64_t id;
    CURL* easy;
    CURLcode code;
  };
  std::vector<Completion> completions;
  int queued = 0;
  while (CURLMsg* message = curl_multi_info_read(multi_, &queued)) {
    if (message->msg != CURLMSG_DONE) continue;
    if (auto it = by_easy_.find(message->easy_handle); it != by_easy_.end())
      completions.push_back({it->second, message->easy_handle, message->data.result});
  }
  for (const auto& completion : completions) {
    const auto it = fetches_.find(completion.id);
    if (it == fetches_.end() || it->second->easy != completion.easy) continue;
    on_transfer_done(*it->second, completion.code);
  }
}

}  // namespace loopchat
