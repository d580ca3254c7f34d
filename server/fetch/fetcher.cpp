#include "server/fetch/fetcher.hpp"

#include <algorithm>
#include <stdexcept>

#include <curl/header.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server/fetch/html_title.hpp"
#include "server/fetch/socket_address.hpp"

namespace loopchat {

using protocol::ErrorCode;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::size_t kTitleScanBytes = 64 * 1024;  // of the body, kept for <title>

// "fetches to 127.0.0.1 (loopback) are denied"
std::string describe_denied(const asio::ip::address& address, std::string_view range) {
  return "fetches to " + address.to_string() + " (" + std::string(range) + ") are denied";
}

// The scheme of an absolute URL (RFC 3986: ALPHA *( ALPHA / DIGIT / "+" /
// "-" / "." ) ":"), lowercased since schemes are case-insensitive; nullopt if
// `text` does not start with one. Judged on the text, before any parser, so
// that no parser's quirk decides whether a scheme is denied.
std::optional<std::string> scheme_of(std::string_view text) {
  const auto is_alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  if (text.empty() || !is_alpha(text[0])) return std::nullopt;
  std::string scheme;
  for (const char c : text) {
    if (c == ':') return scheme;
    if (!is_alpha(c) && !(c >= '0' && c <= '9') && c != '+' && c != '-' && c != '.')
      return std::nullopt;
    scheme += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  }
  return std::nullopt;
}

// Why a URL with this scheme (or none) is refused, if it is.
std::optional<FetchFailure> denied_scheme(const std::optional<std::string>& scheme) {
  if (!scheme)
    return FetchFailure{ErrorCode::fetch_denied,
                        "the URL has no scheme: only http:// and https:// URLs are fetched"};
  if (*scheme != "http" && *scheme != "https")
    return FetchFailure{ErrorCode::fetch_denied, "scheme '" + scheme->substr(0, 32) +
                                                     "' is not allowed (http and https only)"};
  return std::nullopt;
}

bool is_redirect(long status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

}  // namespace

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
  bool capped = false;                // the body was cut at max_body_bytes
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
  stop();
  curl_multi_cleanup(multi_);  // closes what is left through on_close_socket
  curl_global_cleanup();
}

Fetcher::TargetOrFailure Fetcher::parse_target(const std::string& text, const std::string* base) {
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> url(curl_url(), &curl_url_cleanup);
  if (!url) return FetchFailure{ErrorCode::fetch_failed, "out of memory"};
  // The first hop must be an absolute http(s) URL; a redirect may also be
  // relative to the current one (then it keeps that one's scheme).
  if (const auto scheme = scheme_of(text); !base || scheme)
    if (auto denied = denied_scheme(scheme)) return *denied;
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
  if (auto denied = denied_scheme(target.scheme)) return *denied;  // as curl sees it
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
  if (stopped_) return refuse({ErrorCode::server_busy, "the server is shutting down"});
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

void Fetcher::stop() {
  stopped_ = true;
  for (auto& [id, fetch] : fetches_) {
    release(*fetch);  // curl closes the transfer's sockets (no connection is kept)
    ++counters_.cancelled;
  }
  fetches_.clear();
  per_owner_.clear();
  resolver_.stop();
  curl_timer_.cancel();
  sockets_.clear();  // any socket curl still holds is no longer watched
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
  result.truncated = fetch.capped;
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
  const auto ip = address_of(&address->addr, address->addrlen);
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
  return fd < 0 ? CURL_SOCKET_BAD : fd;
}

int Fetcher::on_close_socket(void* clientp, curl_socket_t fd) {
  // The watcher goes first: asio must not hold a number the kernel reuses.
  static_cast<Fetcher*>(clientp)->sockets_.erase(fd);
  return ::close(fd);
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
  if (what == CURL_POLL_REMOVE) {
    self.sockets_.erase(fd);
    return 0;
  }
  // Not socket_action from here: curl forbids it inside its callbacks; the
  // watcher calls back from the loop.
  auto [it, added] = self.sockets_.try_emplace(
      fd, self.io_, fd, [&self, fd](FdWatcher::Ready ready, std::error_code ec) {
        self.socket_action(
            fd, ec ? CURL_CSELECT_ERR
                   : (ready == FdWatcher::Ready::read ? CURL_CSELECT_IN : CURL_CSELECT_OUT));
      });
  it->second.watch(what == CURL_POLL_IN || what == CURL_POLL_INOUT,
                   what == CURL_POLL_OUT || what == CURL_POLL_INOUT);
  return 0;
}

int Fetcher::on_timer(CURLM*, long timeout_ms, void* clientp) {
  auto& self = *static_cast<Fetcher*>(clientp);
  if (timeout_ms < 0 || self.stopped_) {
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
