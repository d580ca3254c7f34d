#include "client/ws_client.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <random>

#include <asio/connect.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/post.hpp>
#include <asio/ssl.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <websocketpp/base64/base64.hpp>
#include <websocketpp/sha1/sha1.hpp>

#include "client/ws_frame.hpp"
#include "common/use_tuple.hpp"

namespace loopchat::client {

namespace {

constexpr size_t kMaxHandshakeBytes = 16 * 1024;
constexpr std::string_view kAcceptGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

// splitmix64: masks need to be unpredictable to intermediaries, not secret.
class FastRandom {
 public:
  FastRandom() {
    static thread_local uint64_t seed =
        (uint64_t{std::random_device{}()} << 32) ^ std::random_device{}();
    state_ = seed += 0x9E3779B97F4A7C15ull;
  }
  uint64_t next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }

 private:
  uint64_t state_;
};

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

bool has_token(std::string_view list, std::string_view token) {
  const std::string l = lower(list);
  size_t start = 0;
  while (start <= l.size()) {
    size_t comma = l.find(',', start);
    if (comma == std::string::npos) comma = l.size();
    if (trim(std::string_view(l).substr(start, comma - start)) == token) return true;
    start = comma + 1;
  }
  return false;
}

std::string accept_for(std::string_view key) {
  std::string input(key);
  input += kAcceptGuid;
  unsigned char hash[20];
  websocketpp::sha1::calc(input.data(), input.size(), hash);
  return websocketpp::base64_encode(hash, sizeof hash);
}

}  // namespace

//------------------------------------------------------------------------------

struct WsClient::State : std::enable_shared_from_this<State> {
  State(asio::any_io_executor ex, WsClientConfig cfg)
      : socket(ex), connect_timer(ex), flush_timer(ex), linger_timer(ex), config(cfg) {
    flush_timer.expires_at(asio::steady_timer::time_point::max());
  }

  asio::ip::tcp::socket socket;
  // wss://: TLS over `socket`, made for each connect.
  std::unique_ptr<asio::ssl::context> tls_context;
  std::unique_ptr<asio::ssl::stream<asio::ip::tcp::socket&>> tls;
  asio::steady_timer connect_timer;
  asio::steady_timer flush_timer;  // never expires: cancelled when the queue drains
  asio::steady_timer linger_timer;
  WsClientConfig config;
  FastRandom random;
  int http_status = 0;
  bool connecting = false;
  bool connect_timed_out = false;

  // Reading: bytes [rpos, rend) of rbuf are read but not parsed yet.
  std::unique_ptr<char[]> rbuf;
  size_t rcap = 0, rpos = 0, rend = 0;
  bool in_fragment = false;
  WsMessage::Kind fragment_kind = WsMessage::Kind::text;
  std::string fragments;
  bool finished = false;  // a close or an error was returned: nothing more to read
  uint64_t pings = 0, pongs = 0;

  // Writing: `pending` collects frames while `writing` is on the wire.
  std::string pending, writing;
  bool write_scheduled = false, write_in_flight = false;
  std::error_code write_error;
  bool close_sent = false;
  bool released = false;  // the WsClient is gone: close once drained

  // The byte stream: the socket, or TLS over it.
  template <typename Buffers, typename Token>
  auto write_all(const Buffers& buffers, Token&& token) {
    if (tls) return asio::async_write(*tls, buffers, std::forward<Token>(token));
    return asio::async_write(socket, buffers, std::forward<Token>(token));
  }
  template <typename Buffers, typename Token>
  auto read_some(const Buffers& buffers, Token&& token) {
    if (tls) return tls->async_read_some(buffers, std::forward<Token>(token));
    return socket.async_read_some(buffers, std::forward<Token>(token));
  }

  // Starts TLS on the connected socket: SNI and the name check for `host`.
  asio::awaitable<std::error_code> start_tls(const std::string& host) {
    tls_context = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
    std::error_code ec;
    if (config.tls_insecure) {
      tls_context->set_verify_mode(asio::ssl::verify_none);
    } else {
      tls_context->set_verify_mode(asio::ssl::verify_peer);
      if (config.tls_ca_file.empty())
        tls_context->set_default_verify_paths(ec);
      else
        tls_context->load_verify_file(config.tls_ca_file, ec);
      if (ec) co_return ec;
    }
    tls = std::make_unique<asio::ssl::stream<asio::ip::tcp::socket&>>(socket, *tls_context);
    if (!config.tls_insecure) tls->set_verify_callback(asio::ssl::host_name_verification(host));
    std::error_code not_address;
    asio::ip::make_address(host, not_address);
    if (not_address) SSL_set_tlsext_host_name(tls->native_handle(), host.c_str());
    auto [hec] = co_await tls->async_handshake(asio::ssl::stream_base::client, use_tuple);
    co_return hec;
  }

  //--- writing

  bool can_queue(size_t more) const {
    return socket.is_open() && !write_error && !close_sent &&
           pending.size() + writing.size() + more <= config.max_queue_bytes;
  }

  bool queue_frame(Opcode op, std::string_view payload) {
    if (!can_queue(payload.size() + 14)) return false;
    append_frame(pending, op, payload, true, static_cast<uint32_t>(random.next()));
    if (op == Opcode::close) close_sent = true;
    schedule_write();
    return true;
  }

  // Posting (instead of writing now) lets every frame queued in this turn of
  // the loop share one write: corking.
  void schedule_write() {
    if (write_scheduled || write_in_flight) return;
    write_scheduled = true;
    asio::post(socket.get_executor(), [self = shared_from_this()] { self->start_write(); });
  }

  void start_write() {
    write_scheduled = false;
    if (write_in_flight) return;
    if (pending.empty() || !socket.is_open()) {
      on_drained();
      return;
    }
    std::swap(pending, writing);  // both keep their capacity
    write_in_flight = true;
    write_all(asio::buffer(writing),
              [self = shared_from_this()](std::error_code ec, size_t) { self->on_written(ec); });
  }

  void on_written(std::error_code ec) {
    write_in_flight = false;
    writing.clear();
    if (ec) {
      write_error = ec;
      pending.clear();
      on_drained();
      return;
    }
    if (!pending.empty()) {
      start_write();
    } else {
      on_drained();
    }
  }

  bool write_idle() const { return !write_in_flight && !write_scheduled && pending.empty(); }

  void on_drained() {
    flush_timer.cancel();
    if (released && write_idle()) finish_close();
  }

  //--- closing

  // The WsClient handle is gone: finish writing, then close, within linger.
  void release() {
    released = true;
    connect_timer.cancel();
    if (!socket.is_open()) return;
    linger_timer.expires_after(config.close_linger_ms);
    linger_timer.async_wait([self = shared_from_this()](std::error_code ec) {
      if (!ec) self->close_now();
    });
    if (write_idle()) finish_close();
  }

  // After our close frame: half-close and read until the server closes too,
  // so that it sees an orderly end rather than a reset.
  void finish_close() {
    if (!socket.is_open()) return;
    if (!close_sent) {
      close_now();
      return;
    }
    std::error_code ignored;
    socket.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
    discard_until_eof();
  }

  void discard_until_eof() {
    if (!rbuf || rcap == 0) ensure_space(1);
    read_some(asio::buffer(rbuf.get(), rcap),
              [self = shared_from_this()](std::error_code ec, size_t) {
                if (ec) {
                  self->close_now();
                } else {
                  self->discard_until_eof();
                }
              });
  }

  void close_now() {
    std::error_code ignored;
    socket.close(ignored);
    linger_timer.cancel();
    flush_timer.cancel();
  }

  //--- reading

  // receive_each: parse what is buffered, then read again.
  std::function<void(WsMessage&)> on_message;
  WsMessage each_message;

  void read_each() {
    size_t need = 0;
    while (!finished && next_buffered(each_message, need)) {
      on_message(each_message);
      if (finished) return;  // that was the close or the error
    }
    if (finished) return;
    ensure_space(need);
    read_some(asio::buffer(rbuf.get() + rend, rcap - rend),
              [self = shared_from_this()](std::error_code ec, size_t n) {
                if (ec) return self->end_each(ec);
                self->rend += n;
                self->read_each();
              });
  }

  // The connection ended without a close: the error is the last message.
  void end_each(std::error_code ec) {
    finished = true;
    each_message.kind = WsMessage::Kind::error;
    each_message.error = ec;
    each_message.close_code = 1006;
    on_message(each_message);
  }

  // Makes room for `need` contiguous bytes from rpos and some free space.
  void ensure_space(size_t need) {
    if (rpos == rend) rpos = rend = 0;
    const size_t chunk = std::max<size_t>(config.read_chunk_bytes, 64);
    if (rpos > 0 && (rcap - rend < chunk / 2 || rcap - rpos < need)) {
      std::memmove(rbuf.get(), rbuf.get() + rpos, rend - rpos);
      rend -= rpos;
      rpos = 0;
    }
    size_t want = std::max(need, rend + 1);
    if (rcap < chunk) want = std::max(want, chunk);
    if (want > rcap) {
      const size_t cap = std::max(want, rcap * 2);
      auto grown = std::make_unique<char[]>(cap);
      if (rend > rpos) std::memcpy(grown.get(), rbuf.get() + rpos, rend - rpos);
      rend -= rpos;
      rpos = 0;
      rbuf = std::move(grown);
      rcap = cap;
    }
  }

  void fail(WsMessage& out, std::error_code ec, uint16_t code) {
    if (!close_sent && socket.is_open()) queue_frame(Opcode::close, close_payload(code, {}));
    out.kind = WsMessage::Kind::error;
    out.error = ec;
    out.close_code = code;
    finished = true;
  }

  // Parses buffered frames until a message completes (true) or more bytes
  // are needed (false; `need` is the size of the incomplete frame).
  bool next_buffered(WsMessage& out, size_t& need) {
    for (;;) {
      const std::string_view avail(rbuf.get() + rpos, rend - rpos);
      FrameHeader h;
      const FrameParse parsed = parse_frame_header(avail, h);
      if (parsed == FrameParse::need_more) {
        need = 14;
        return false;
      }
      if (parsed == FrameParse::invalid || h.masked) {
        fail(out, WsErrc::protocol_error, 1002);
        return true;
      }
      if (h.payload_length > config.max_message_bytes) {
        fail(out, WsErrc::message_too_big, 1009);
        return true;
      }
      const size_t total = h.header_length + static_cast<size_t>(h.payload_length);
      if (avail.size() < total) {
        need = total;
        return false;
      }
      const std::string_view payload = avail.substr(h.header_length, h.payload_length);
      rpos += total;
      switch (h.opcode) {
        case Opcode::ping:
          ++pings;
          if (config.auto_pong && !close_sent) queue_frame(Opcode::pong, payload);
          continue;
        case Opcode::pong:
          ++pongs;
          continue;
        case Opcode::close:
          if (payload.size() == 1) {
            fail(out, WsErrc::protocol_error, 1002);
            return true;
          }
          out.kind = WsMessage::Kind::close;
          out.close_code = 1005;
          out.close_reason.clear();
          if (payload.size() >= 2) {
            out.close_code = static_cast<uint16_t>((static_cast<uint8_t>(payload[0]) << 8) |
                                                   static_cast<uint8_t>(payload[1]));
            out.close_reason.assign(payload.substr(2));
          }
          if (!close_sent && socket.is_open()) {
            queue_frame(Opcode::close,
                        out.close_code == 1005 ? std::string() : close_payload(out.close_code, {}));
          }
          finished = true;
          return true;
        case Opcode::text:
        case Opcode::binary: {
          if (in_fragment) {
            fail(out, WsErrc::protocol_error, 1002);
            return true;
          }
          const auto kind =
              h.opcode == Opcode::text ? WsMessage::Kind::text : WsMessage::Kind::binary;
          if (h.fin) {
            out.kind = kind;
            out.data.assign(payload);
            return true;
          }
          in_fragment = true;
          fragment_kind = kind;
          fragments.assign(payload);
          continue;
        }
        case Opcode::continuation:
          if (!in_fragment) {
            fail(out, WsErrc::protocol_error, 1002);
            return true;
          }
          if (fragments.size() + payload.size() > config.max_message_bytes) {
            fail(out, WsErrc::message_too_big, 1009);
            return true;
          }
          fragments.append(payload);
          if (h.fin) {
            in_fragment = false;
            out.kind = fragment_kind;
            out.data.swap(fragments);
            fragments.clear();
            return true;
          }
          continue;
      }
    }
  }

  //--- handshake

  static std::string make_key(FastRandom& random) {
    unsigned char raw[16];
    const uint64_t a = random.next(), b = random.next();
    std::memcpy(raw, &a, 8);
    std::memcpy(raw + 8, &b, 8);
    return websocketpp::base64_encode(raw, sizeof raw);
  }

  // Checks the HTTP answer in rbuf[0, header_end).
  std::error_code check_answer(std::string_view head, std::string_view key) {
    const size_t eol = head.find("\r\n");
    const std::string_view status_line = head.substr(0, eol);
    if (status_line.size() < 12 || status_line.substr(0, 7) != "HTTP/1.") {
      return WsErrc::bad_handshake;
    }
    const std::string_view code = status_line.substr(9, 3);
    if (!std::all_of(code.begin(), code.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return WsErrc::bad_handshake;
    }
    http_status = (code[0] - '0') * 100 + (code[1] - '0') * 10 + (code[2] - '0');
    if (http_status != 101) return WsErrc::handshake_rejected;

    bool upgrade = false, connection = false, accept = false;
    const std::string expected = accept_for(key);
    size_t pos = eol + 2;
    while (pos < head.size()) {
      size_t end = head.find("\r\n", pos);
      if (end == std::string_view::npos) end = head.size();
      const std::string_view line = head.substr(pos, end - pos);
      pos = end + 2;
      const size_t colon = line.find(':');
      if (colon == std::string_view::npos) continue;
      const std::string name = lower(trim(line.substr(0, colon)));
      const std::string_view value = trim(line.substr(colon + 1));
      if (name == "upgrade") upgrade = lower(value) == "websocket";
      if (name == "connection") connection = has_token(value, "upgrade");
      if (name == "sec-websocket-accept") accept = value == expected;
    }
    if (!upgrade || !connection || !accept) return WsErrc::bad_handshake;
    return {};
  }

  asio::awaitable<std::error_code> handshake(const WsUrl& url) {
    const std::string key = make_key(random);
    const bool ipv6 = url.host.find(':') != std::string::npos;
    std::string request = "GET " + url.path + " HTTP/1.1\r\nHost: ";
    if (ipv6) request.push_back('[');
    request.append(url.host);
    if (ipv6) request.push_back(']');
    if (url.port != (url.secure ? 443 : 80)) request += ":" + std::to_string(url.port);
    request += "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key +
               "\r\nSec-WebSocket-Version: 13\r\nUser-Agent: loopchat-client\r\n\r\n";
    auto [wec, written] = co_await write_all(asio::buffer(request), use_tuple);
    if (wec) co_return wec;

    rpos = rend = 0;
    for (;;) {
      ensure_space(1);
      auto [ec, n] = co_await read_some(
          asio::buffer(rbuf.get() + rend, std::min(rcap - rend, kMaxHandshakeBytes)), use_tuple);
      if (ec) co_return ec;
      const size_t searched_from = rend >= 3 ? rend - 3 : 0;
      rend += n;
      const std::string_view seen(rbuf.get(), rend);
      const size_t end = seen.find("\r\n\r\n", searched_from);
      if (end != std::string_view::npos) {
        rpos = end + 4;  // frames sent right after the answer stay buffered
        co_return check_answer(seen.substr(0, end + 2), key);
      }
      if (rend >= kMaxHandshakeBytes) co_return WsErrc::bad_handshake;
    }
  }
};

//------------------------------------------------------------------------------

WsClient::WsClient(asio::any_io_executor executor) : WsClient(std::move(executor), {}) {}

WsClient::WsClient(asio::any_io_executor executor, WsClientConfig config)
    : state_(std::make_shared<State>(std::move(executor), std::move(config))) {}

WsClient::~WsClient() {
  if (state_) state_->release();
}

asio::awaitable<std::error_code> WsClient::connect(const WsUrl& url,
                                                   std::optional<asio::ip::address> source) {
  auto s = state_;
  s->http_status = 0;
  s->finished = false;
  s->close_sent = false;
  s->in_fragment = false;
  s->write_error = {};
  s->connecting = true;
  s->connect_timed_out = false;
  s->connect_timer.expires_after(s->config.connect_timeout_ms);
  s->connect_timer.async_wait([s](std::error_code ec) {
    if (!ec && s->connecting) {
      s->connect_timed_out = true;
      std::error_code ignored;
      s->socket.close(ignored);
    }
  });
  auto result = co_await [&]() -> asio::awaitable<std::error_code> {
    std::vector<asio::ip::tcp::endpoint> endpoints;
    std::error_code ec;
    const auto address = asio::ip::make_address(url.host, ec);
    if (!ec) {
      endpoints.emplace_back(address, url.port);
    } else {
      asio::ip::tcp::resolver resolver(s->socket.get_executor());
      auto [rec, results] =
          co_await resolver.async_resolve(url.host, std::to_string(url.port), use_tuple);
      if (rec) co_return rec;
      for (const auto& entry : results) endpoints.push_back(entry.endpoint());
    }
    std::error_code last = WsErrc::resolve_failed;
    bool connected = false;
    for (const auto& endpoint : endpoints) {
      if (s->connect_timed_out) break;
      if (source && source->is_v4() != endpoint.address().is_v4()) continue;
      std::error_code ignored;
      s->socket.close(ignored);
      s->socket.open(endpoint.protocol(), ec);
      if (ec) {
        last = ec;
        continue;
      }
      if (s->config.socket_receive_buffer_bytes > 0)
        s->socket.set_option(
            asio::socket_base::receive_buffer_size(s->config.socket_receive_buffer_bytes), ec);
      if (source) {
        // Lets the kernel choose the port at connect time, per destination:
        // what makes each source address worth another ~28k ports.
        const int one = 1;
        ::setsockopt(s->socket.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
                     sizeof one);
        s->socket.bind({*source, 0}, ec);
        if (ec) {
          last = ec;
          continue;
        }
      }
      auto [cec] = co_await s->socket.async_connect(endpoint, use_tuple);
      if (!cec) {
        connected = true;
        break;
      }
      last = cec;
    }
    if (!connected) co_return last;
    s->socket.set_option(asio::ip::tcp::no_delay(true), ec);
    s->tls.reset();
    if (url.secure) {
      std::error_code tec = co_await s->start_tls(url.host);
      if (tec) co_return tec;
    }
    co_return co_await s->handshake(url);
  }();
  s->connecting = false;
  s->connect_timer.cancel();
  if (s->connect_timed_out) result = WsErrc::handshake_timeout;
  if (result) {
    std::error_code ignored;
    s->socket.close(ignored);
    s->finished = true;
  }
  co_return result;
}

int WsClient::http_status() const {
  return state_->http_status;
}

bool WsClient::send_text(std::string_view text) {
  return state_->queue_frame(Opcode::text, text);
}

bool WsClient::send_binary(std::string_view data) {
  return state_->queue_frame(Opcode::binary, data);
}

bool WsClient::send_ping(std::string_view payload) {
  return state_->queue_frame(Opcode::ping, payload.substr(0, 125));
}

bool WsClient::send_close(uint16_t code, std::string_view reason) {
  return state_->queue_frame(Opcode::close, close_payload(code, reason));
}

bool WsClient::send_raw(std::string_view bytes) {
  auto& s = *state_;
  if (!s.socket.is_open() || s.write_error ||
      s.pending.size() + s.writing.size() + bytes.size() > s.config.max_queue_bytes) {
    return false;
  }
  s.pending.append(bytes);
  s.schedule_write();
  return true;
}

asio::awaitable<std::error_code> WsClient::flush() {
  auto s = state_;
  while (!s->write_idle() && !s->write_error && s->socket.is_open()) {
    co_await s->flush_timer.async_wait(use_tuple);
  }
  if (s->write_error) co_return s->write_error;
  co_return s->socket.is_open() ? std::error_code{} : make_error_code(WsErrc::closed);
}

size_t WsClient::queued_bytes() const {
  return state_->pending.size() + state_->writing.size();
}

asio::awaitable<WsMessage> WsClient::receive() {
  WsMessage out;
  co_await receive_into(out);
  co_return out;
}

asio::awaitable<void> WsClient::receive_into(WsMessage& out) {
  auto s = state_;
  out.close_code = 0;
  out.close_reason.clear();
  out.error = {};
  for (;;) {
    if (s->finished || !s->rbuf) {
      out.kind = WsMessage::Kind::error;
      out.error = WsErrc::closed;
      out.close_code = 1006;
      co_return;
    }
    size_t need = 0;
    if (s->next_buffered(out, need)) co_return;
    s->ensure_space(need);
    auto [ec, n] =
        co_await s->read_some(asio::buffer(s->rbuf.get() + s->rend, s->rcap - s->rend), use_tuple);
    if (ec) {
      out.kind = WsMessage::Kind::error;
      out.error = ec;
      out.close_code = 1006;
      s->finished = true;
      co_return;
    }
    s->rend += n;
  }
}

void WsClient::receive_each(std::function<void(WsMessage&)> on_message) {
  auto& s = *state_;
  s.on_message = std::move(on_message);
  if (s.finished || !s.rbuf) return s.end_each(WsErrc::closed);
  s.read_each();
}

void WsClient::set_auto_pong(bool on) {
  state_->config.auto_pong = on;
}
uint64_t WsClient::pings_received() const {
  return state_->pings;
}
uint64_t WsClient::pongs_received() const {
  return state_->pongs;
}
bool WsClient::is_open() const {
  return state_->socket.is_open();
}

void WsClient::close_socket() {
  state_->pending.clear();
  state_->close_now();
}

void WsClient::abort() {
  auto& s = *state_;
  if (s.socket.is_open()) {
    std::error_code ignored;
    s.socket.set_option(asio::socket_base::linger(true, 0), ignored);
  }
  close_socket();
}

asio::ip::tcp::socket& WsClient::socket() {
  return state_->socket;
}

}  // namespace loopchat::client
