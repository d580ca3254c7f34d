#include "server/transport/connection.hpp"

#include <array>
#include <vector>

#include "server/auth/forwarded_for.hpp"
#include "server/chat/request_handler.hpp"
#include "server/ops/graceful_shutdown.hpp"
#include "server/ops/log.hpp"

namespace loopchat {
namespace {

namespace close_status = websocketpp::close::status;

// Frames gathered into one write: asio passes at most 64 buffers to writev.
constexpr std::size_t kMaxGather = 64;

// The iovec array of every write: writes are synchronous (non-blocking), so
// the loop needs only one.
std::vector<asio::const_buffer> shared_gather;

// One read buffer for the whole loop: a read is consumed (websocketpp copies
// what it keeps) before the next one, so an idle connection holds no read
// buffer of its own.
std::array<char, 64 * 1024> shared_read_buffer;

bool would_block(const std::error_code& ec) {
  return ec == asio::error::would_block || ec == asio::error::try_again;
}

bool quiet_error(const std::error_code& ec) {
  return ec == asio::error::operation_aborted || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == asio::error::bad_descriptor;
}

// The same bytes for every ping the server sends.
const FramePtr& shared_ping() {
  static const FramePtr ping = Frame::ping();
  return ping;
}

}  // namespace

Connection::Connection(Socket socket, ServerContext& server)
    : socket_(std::move(socket)),
      server_(server),
      request_(std::make_unique<HttpRequestReader>(server.config.max_handshake_bytes)),
      state_(server.config) {
  std::error_code ec;
  source_ = socket_.remote_endpoint(ec).address();  // unspecified if the peer is already gone
  server_.connections.insert(this);
  ++server_.metrics.connections_handshaking;
}

void Connection::start() {
  server_.deadlines.set(*this, DeadlineLanes::handshake);
  wait_readable();
}

// ------------------------------------------------------------------- reading

void Connection::wait_readable() {
  socket_.async_wait(asio::socket_base::wait_read,
                     [self = shared_from_this()](std::error_code ec) { self->on_readable(ec); });
}

void Connection::on_readable(std::error_code ec) {
  if (phase_ == Phase::closed) return;
  std::size_t n = 0;
  if (!ec) n = socket_.read_some(asio::buffer(shared_read_buffer), ec);
  if (would_block(ec)) return wait_readable();
  if (ec) {
    // EOF in draining is the end we waited for; anywhere else the peer left.
    if (!quiet_error(ec)) log::info("read error: ", ec.message());
    return drop();
  }
  server_.metrics.bytes_in += n;
  consume(shared_read_buffer.data(), n);
  if (phase_ != Phase::closed) wait_readable();
}

void Connection::consume(char* data, std::size_t size) {
  while (size > 0 && phase_ != Phase::closed && !discard_input_) {
    std::size_t used =
        phase_ == Phase::handshake ? consume_request(data, size) : consume_frames(data, size);
    data += used;
    size -= used;
  }
}

std::size_t Connection::consume_request(const char* data, std::size_t size) {
  std::size_t used = 0;
  switch (request_->read(data, size, used)) {
    case HttpRequestReader::Status::incomplete:
      break;
    case HttpRequestReader::Status::complete:
      answer_request();
      break;
    case HttpRequestReader::Status::too_large:
      server_.metrics.count_limit(Limit::handshake_bytes);
      ++server_.metrics.handshakes_rejected;
      answer_http({.status = 431, .body = "request head too large\n"});
      break;
    case HttpRequestReader::Status::malformed:
      ++server_.metrics.handshakes_rejected;
      answer_http({.status = request_->error_status(), .body = "malformed request\n"});
      break;
  }
  return used;
}

std::size_t Connection::consume_frames(char* data, std::size_t size) {
  std::size_t used = 0;
  WsInput input = frames_->read(data, size, used);
  if (input.kind != WsInput::Kind::need_more) on_input(input);
  return used;
}

void Connection::on_input(WsInput& input) {
  using Kind = WsInput::Kind;
  if (input.kind == Kind::failed) {
    if (input.code == close_status::message_too_big)
      server_.metrics.count_limit(Limit::message_bytes);
    return fail(input.code, input.reason);
  }
  if (input.kind == Kind::close) {
    close_received_ = true;
    remote_close_code_ = input.code;
    if (!close_sent_) {
      // Echo the peer's code (RFC 6455 5.5.1); a close without one is answered 1000.
      std::uint16_t code = input.code == close_status::no_status ? 1000 : input.code;
      enqueue(Frame::close(code, input.code == close_status::no_status ? "" : input.reason));
      close_sent_ = true;
      enter_closing();
    }
    discard_input_ = true;  // RFC 6455 5.5.1: nothing after the close frame
    return drain_if_done();
  }
  if (phase_ != Phase::open) return;  // closing: waiting for the peer's close, data ignored
  switch (input.kind) {
    case Kind::text:
      ++server_.metrics.frames_in;
      // After SIGTERM nothing is served: a backlog of requests read under
      // overload would keep the loop from the shutdown for seconds.
      if (shutdown_requested()) break;
      if (server_.requests.handle(*this, state_, input.message->get_payload()) ==
          RequestHandler::Verdict::close_over_budget)
        close(1008, "over the request budget");
      break;
    case Kind::binary:
      close(1003, "text frames only");
      break;
    case Kind::ping:
      deliver(Frame::pong(input.message->get_payload()));  // bounded by the queue like any frame
      break;
    case Kind::pong:
      if (pong_pending_) {
        pong_pending_ = false;
        server_.deadlines.set(*this, DeadlineLanes::ping_interval);
      }
      break;
    default:
      break;
  }
}

// ---------------------------------------------------------------- handshake

void Connection::answer_request() {
  const HttpRequest& request = request_->request();
  switch (classify_upgrade(request)) {
    case UpgradeRequest::none: {
      ++server_.metrics.http_requests;
      bool head = request.get_method() == "HEAD";
      HttpResponse response = server_.http.route(request.get_method(), request.get_uri());
      return answer_http({.status = response.status,
                          .content_type = response.content_type,
                          .body = std::move(response.body),
                          .head_only = head,
                          .no_store = true});
    }
    case UpgradeRequest::bad_version:
      ++server_.metrics.handshakes_rejected;
      return answer_http(
          {.status = 426, .body = "WebSocket version 13 only\n", .websocket_version = true});
    case UpgradeRequest::malformed:
      ++server_.metrics.handshakes_rejected;
      return answer_http({.status = 400, .body = "malformed WebSocket upgrade\n"});
    case UpgradeRequest::acceptable:
      if (!refuse_upgrade()) upgrade();
      return;
  }
}

// Answers an upgrade the server will not take: wrong path, shutting down, a
// foreign page, no valid token, full.
bool Connection::refuse_upgrade() {
  auto refuse = [this](int status, std::string body) {
    ++server_.metrics.handshakes_rejected;
    answer_http({.status = status, .body = std::move(body)});
    return true;
  };
  const HttpRequest& request = request_->request();
  if (request_path(request) != "/ws") return refuse(404, "WebSocket endpoint is /ws\n");
  if (server_.shutting_down) return refuse(503, "server shutting down\n");
  if (!server_.origins.allows(request.get_header("Origin"), request.get_header("Host")))
    return refuse(403, "origin not allowed: " + request.get_header("Origin") + "\n");
  source_ =
      forwarded_client(source_, request.get_header("X-Forwarded-For"), server_.trusted_proxies);
  if (server_.auth.enabled()) {
    auto checked = server_.auth.check(upgrade_token(request));
    if (auto* why = std::get_if<std::string>(&checked)) return refuse(401, *why + "\n");
    grant = std::get<GrantPtr>(std::move(checked));
  }
  // Connections still in their handshake are bounded by --max-handshakes.
  if (server_.metrics.connections_open >= server_.config.max_connections) {
    server_.metrics.count_limit(Limit::connections);
    log::warn("connection limit reached (", server_.config.max_connections, "): upgrade refused");
    return refuse(503, "server full\n");
  }
  if (!server_.per_source.admits(source_)) {
    // Counted, not logged: a host hammering the limit would flood the log.
    server_.metrics.count_limit(Limit::connections_per_ip);
    return refuse(503, "too many connections from your address\n");
  }
  return false;
}

void Connection::upgrade() {
  enqueue(Frame::raw(upgrade_answer(request_->request())));
  request_.reset();  // nothing of the handshake outlives it
  frames_.emplace(server_.config.max_message_bytes);
  phase_ = Phase::open;
  established_ = true;
  --server_.metrics.connections_handshaking;
  ++server_.metrics.connections_open;
  server_.per_source.opened(source_);
  server_.deadlines.set(*this, DeadlineLanes::ping_interval);
  if (grant) server_.auth.grant(*this, grant);  // closed when it runs out
  server_.hub.connect(*this);
}

// The answer ends the connection: written, then the write side shut, then
// the peer's EOF awaited, so the peer reads the answer instead of a reset.
void Connection::answer_http(const HttpAnswer& answer) {
  enqueue(Frame::raw(http_answer(answer)));
  request_.reset();
  discard_input_ = true;
  enter_closing();
  drain_if_done();
}

// ------------------------------------------------------------------ writing

void Connection::deliver(const FramePtr& frame) {
  if (phase_ != Phase::open || overflowed_) return;
  if (queue_.bytes() + frame->size() > server_.config.max_queue_bytes) {
    // Not closed here, mid-broadcast: in a task of its own, right after.
    overflowed_ = true;
    asio::post(socket_.get_executor(),
               [self = shared_from_this()] { self->close_slow_consumer(); });
    return;
  }
  enqueue(frame);
}

std::size_t Connection::send_room() const {
  std::size_t limit = server_.config.max_queue_bytes;
  return queue_.bytes() >= limit ? 0 : limit - queue_.bytes();
}

void Connection::enqueue(FramePtr frame) {
  ++server_.metrics.frames_out;
  queue_.push(std::move(frame));
  if (!flush_scheduled_ && !write_blocked_) {
    flush_scheduled_ = true;
    server_.flusher.schedule(shared_from_this());
  }
}

void Connection::flush() {
  flush_scheduled_ = false;
  while (!queue_.empty() && !write_blocked_ && phase_ != Phase::closed) {
    shared_gather.clear();
    std::size_t offered = queue_.gather(shared_gather, kMaxGather);
    std::error_code ec;
    // One buffer is the common case under fan-out (one frame per socket per
    // turn): send(2) then, cheaper in the kernel than sendmsg(2) with an iovec.
    std::size_t written = shared_gather.size() == 1 ? socket_.write_some(shared_gather.front(), ec)
                                                    : socket_.write_some(shared_gather, ec);
    if (would_block(ec)) {
      write_blocked_ = true;
      break;
    }
    if (ec) {
      if (!quiet_error(ec)) log::info("write error: ", ec.message());
      return drop();
    }
    ++server_.metrics.writes;
    server_.metrics.bytes_out += written;
    queue_.consume(written);
    if (written < offered) write_blocked_ = true;  // the kernel's buffer is full
  }
  if (write_blocked_) return wait_writable();
  drain_if_done();
}

void Connection::wait_writable() {
  socket_.async_wait(asio::socket_base::wait_write,
                     [self = shared_from_this()](std::error_code ec) {
                       if (self->phase_ == Phase::closed) return;
                       if (ec) return self->drop();
                       self->write_blocked_ = false;
                       self->server_.flusher.barrier();
                       self->flush();
                     });
}

void Connection::close_slow_consumer() {
  if (phase_ != Phase::open) return;
  server_.metrics.count_limit(Limit::queue_bytes);
  log::info("slow consumer ", name, ": over ", server_.config.max_queue_bytes,
            " queued bytes, closing 1008");
  queue_.drop_unstarted();  // its backlog goes; the close frame follows what was started
  close(1008, "slow consumer: send queue full");
}

// ------------------------------------------------------------------ closing

void Connection::close(std::uint16_t code, std::string_view reason) {
  if (phase_ == Phase::handshake) return drop();
  if (phase_ != Phase::open) return;
  local_close_code_ = code;
  close_sent_ = true;
  // The server is going away: the close frame leaves now, ahead of any backlog.
  if (server_.shutting_down) queue_.drop_unstarted();
  enqueue(Frame::close(code, reason));
  enter_closing();
}

// A protocol error (1002, 1007, 1009): the close frame, then nothing more is
// parsed, since the stream can no longer be trusted (RFC 6455 7.1.7).
void Connection::fail(std::uint16_t code, std::string_view reason) {
  if (!close_sent_) {
    local_close_code_ = code;
    close_sent_ = true;
    enqueue(Frame::close(code, reason));
  }
  discard_input_ = true;
  enter_closing();
  drain_if_done();
}

void Connection::enter_closing() {
  if (phase_ == Phase::closing || phase_ == Phase::draining || phase_ == Phase::closed) return;
  if (phase_ == Phase::open) {
    server_.hub.disconnect(*this);  // its rooms hear it leave now
    // Who closed first decides the code counted.
    count_close(local_close_code_ != 0 ? local_close_code_ : remote_close_code_);
  }
  if (phase_ == Phase::handshake) --server_.metrics.connections_handshaking;
  phase_ = Phase::closing;
  pong_pending_ = false;
  server_.deadlines.set(*this, DeadlineLanes::close);
}

// Closing is done once what is queued is written and, for a WebSocket close,
// both close frames have passed (or the stream failed): the write side is
// shut, and input is read and discarded until the peer's EOF.
void Connection::drain_if_done() {
  if (phase_ != Phase::closing || !queue_.empty()) return;
  bool handshake_done = close_received_ || discard_input_;
  if (!handshake_done) return;
  phase_ = Phase::draining;
  discard_input_ = true;
  std::error_code ignored;
  socket_.shutdown(asio::socket_base::shutdown_send, ignored);
}

void Connection::on_deadline() {
  switch (phase_) {
    case Phase::handshake:
      server_.metrics.count_limit(Limit::handshake_timeout);
      log::info("handshake not finished within ", server_.config.handshake_timeout_ms,
                " ms: dropped");
      return drop();
    case Phase::open:
      if (!pong_pending_) {
        // Queued like any frame, so it leaves with this turn's flush.
        pong_pending_ = true;
        server_.deadlines.set(*this, DeadlineLanes::pong_wait);
        deliver(shared_ping());
        return;
      }
      server_.metrics.count_limit(Limit::ping_timeout);
      log::info("no pong from ", name, " within ", server_.config.ping_timeout_ms,
                " ms: closing 1001");
      return close(1001, "ping timeout");
    case Phase::closing:
    case Phase::draining:
      log::info("close of ", name.empty() ? "a connection" : name, " not finished within ",
                server_.config.close_timeout_ms, " ms: dropped");
      return drop();
    case Phase::closed:
      return;
  }
}

void Connection::drop() {
  if (phase_ == Phase::closed) return;
  std::error_code ignored;
  socket_.shutdown(asio::socket_base::shutdown_both, ignored);
  socket_.close(ignored);  // ends the pending waits
  finish();
}

void Connection::count_close(std::uint16_t code) {
  server_.metrics.count_close(code);
  if (code != 1000 && code != 1001 && code != 1005 && code != 1006)
    log::info("closed ", name, " with ", code);
}

void Connection::finish() {
  if (phase_ == Phase::handshake) --server_.metrics.connections_handshaking;
  if (phase_ == Phase::open) {
    // The TCP connection ended without a close handshake.
    server_.hub.disconnect(*this);
    count_close(close_status::abnormal_close);
  }
  phase_ = Phase::closed;
  queue_.clear();
  request_.reset();
  frames_.reset();
  server_.deadlines.cancel(*this);
  if (established_) {
    --server_.metrics.connections_open;
    server_.per_source.closed(source_);
    established_ = false;
  }
  server_.requests.forget(*this);
  server_.auth.forget(*this);
  server_.connections.erase(this);
  if (server_.shutting_down && server_.connections.empty() && server_.on_drained)
    server_.on_drained();
}

}  // namespace loopchat
