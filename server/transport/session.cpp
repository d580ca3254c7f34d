#include "server/transport/session.hpp"

#include <asio/experimental/as_tuple.hpp>

#include <array>

#include "common/use_tuple.hpp"
#include "server/chat/request_handler.hpp"
#include "server/ops/log.hpp"

namespace loopchat {
namespace {

// Frames gathered into one write: asio passes at most 64 buffers to writev.
constexpr std::size_t kMaxGather = 64;

// The iovec array of every write: writes are synchronous (non-blocking), so
// the loop needs only one.
std::vector<asio::const_buffer> shared_gather;

// One read buffer for the whole loop: a read is handed to websocketpp (which
// copies what it keeps) before the next one, so an idle connection holds no
// read buffer of its own.
std::array<char, 64 * 1024> shared_read_buffer;

bool quiet_error(const std::error_code& ec) {
  return ec == asio::error::operation_aborted || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == asio::error::bad_descriptor;
}

}  // namespace

Session::Session(asio::ip::tcp::socket socket, ServerContext& server)
    : socket_(std::move(socket)),
      server_(server),
      writer_wake_(socket_.get_executor(), asio::steady_timer::time_point::max()),
      close_timer_(socket_.get_executor()),
      heartbeat_timer_(socket_.get_executor()),
      state_(server.config) {
  std::error_code ec;
  source_ = socket_.remote_endpoint(ec).address();  // unspecified if the peer is already gone
  server_.sessions.insert(this);
  ws_ = ws_endpoint().get_connection();
  ws_->set_max_message_size(server_.config.max_message_bytes);
  ws_->set_validate_handler([this](websocketpp::connection_hdl) { return on_validate(); });
  ws_->set_http_handler([this](websocketpp::connection_hdl) { on_http(); });
  ws_->set_open_handler([this](websocketpp::connection_hdl) { on_open(); });
  ws_->set_message_handler(
      [this](websocketpp::connection_hdl, WsEndpoint::message_ptr m) { on_message(std::move(m)); });
  ws_->set_pong_handler(
      [this](websocketpp::connection_hdl, std::string) { pong_received_ = true; });
  ws_->set_close_handler([this](websocketpp::connection_hdl) { on_closed(); });
  ws_->set_fail_handler([this](websocketpp::connection_hdl) { on_closed(); });
  ws_->set_vector_write_handler(
      [this](websocketpp::connection_hdl, const std::vector<websocketpp::transport::buffer>& b) {
        return on_write(b);
      });
  ws_->set_write_handler([this](websocketpp::connection_hdl, const char* data, std::size_t size) {
    return on_write({websocketpp::transport::buffer(data, size)});
  });
  ws_->set_shutdown_handler([this](websocketpp::connection_hdl) { return on_shutdown(); });
}

Session::~Session() {
  server_.sessions.erase(this);
  if (!finished_) {
    // Only when the loop is torn down with this session still suspended:
    // silence websocketpp's callbacks (the rest of the server may be gone),
    // then break the cycle its pending read holds on its connection.
    ws_->set_close_handler(nullptr);
    ws_->set_fail_handler(nullptr);
    ws_->set_shutdown_handler(nullptr);
    ws_->set_vector_write_handler(nullptr);
    ws_->set_write_handler(nullptr);
    ws_->eof();
  }
}

void Session::start() {
  auto executor = socket_.get_executor();
  asio::co_spawn(
      executor, [self = shared_from_this()] { return self->read_loop(); }, asio::detached);
  asio::co_spawn(
      executor, [self = shared_from_this()] { return self->write_loop(); }, asio::detached);
  asio::co_spawn(
      executor, [self = shared_from_this()] { return self->heartbeat(); }, asio::detached);
}

// ------------------------------------------------------------------- reading

asio::awaitable<void> Session::read_loop() {
  ws_->start();  // websocketpp now waits for the HTTP request
  std::error_code ec;
  while (!socket_closed_) {
    std::tie(ec) = co_await socket_.async_wait(asio::socket_base::wait_read, use_tuple);
    if (ec) break;
    std::size_t n = socket_.read_some(asio::buffer(shared_read_buffer), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) continue;
    if (ec) break;
    server_.metrics.bytes_in += n;
    if (handshake_too_large(n)) break;
    // websocketpp consumes less only when it stopped reading (closed, failed).
    bool stopped = ws_->read_all(shared_read_buffer.data(), n) < n;
    // websocketpp itself may have started a close (1002, 1007, 1009): bound it.
    if (ws_->get_state() == websocketpp::session::state::closing && !watchdog_started_) {
      if (close_code_ == 0) {
        close_code_ = ws_->get_local_close_code();
        if (close_code_ == websocketpp::close::status::message_too_big)
          server_.metrics.count_limit(Limit::message_bytes);
      }
      start_close_watchdog();
    }
    if (stopped) break;
  }
  if (ec && !quiet_error(ec)) log::info("read error: ", ec.message());
  // Completes websocketpp's pending read, if any, so it runs its close/fail
  // path and releases the read handler that keeps its connection alive.
  ws_->eof();
}

// An HTTP request head over --max-handshake-bytes is answered 431 by us,
// before websocketpp (whose own, fixed cap is 16000 bytes) sees the rest.
bool Session::handshake_too_large(std::size_t just_read) {
  if (ws_->get_state() != websocketpp::session::state::connecting || open_) return false;
  handshake_bytes_ += just_read;
  if (handshake_bytes_ <= server_.config.max_handshake_bytes) return false;
  // Unless this read completes the head within the limit.
  std::string_view head(shared_read_buffer.data(), just_read);
  auto end = head.find("\r\n\r\n");
  if (end != std::string_view::npos &&
      handshake_bytes_ - just_read + end + 4 <= server_.config.max_handshake_bytes)
    return false;
  server_.metrics.count_limit(Limit::handshake_bytes);
  ++server_.metrics.handshakes_rejected;
  enqueue(
      Frame::raw("HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n"
                 "Content-Type: text/plain\r\nContent-Length: 23\r\n\r\nrequest head too large\n"));
  shutdown_ = true;  // the writer sends the answer, then closes the socket
  return true;
}

void Session::on_message(WsEndpoint::message_ptr message) {
  if (message->get_opcode() != websocketpp::frame::opcode::text) {
    close(1003, "text frames only");
    return;
  }
  ++server_.metrics.frames_in;
  if (server_.requests.handle(*this, state_, message->get_payload()) ==
      RequestHandler::Verdict::close_over_budget)
    close(1008, "over the request budget");
}

// ---------------------------------------------------------------- handshake

bool Session::on_validate() {
  auto& request = ws_->get_request();
  std::string_view target = request.get_uri();
  if (target.substr(0, target.find('?')) != "/ws") {
    ws_->set_status(websocketpp::http::status_code::not_found);
    ws_->set_body("WebSocket endpoint is /ws\n");
    ++server_.metrics.handshakes_rejected;
    return false;
  }
  bool full = server_.metrics.connections_open >= server_.config.max_connections;
  if (server_.shutting_down || full) {
    ws_->set_status(websocketpp::http::status_code::service_unavailable);
    ws_->set_body("server full\n");
    ++server_.metrics.handshakes_rejected;
    if (full) {
      server_.metrics.count_limit(Limit::connections);
      log::warn("connection limit reached (", server_.config.max_connections, "): upgrade refused");
    }
    return false;
  }
  if (!server_.per_source.admits(source_)) {
    ws_->set_status(websocketpp::http::status_code::service_unavailable);
    ws_->set_body("too many connections from your address\n");
    ++server_.metrics.handshakes_rejected;
    // Counted, not logged: a host hammering the limit would flood the log.
    server_.metrics.count_limit(Limit::connections_per_ip);
    return false;
  }
  return true;
}

void Session::on_http() {
  ++server_.metrics.http_requests;
  HttpResponse response =
      server_.http.route(ws_->get_request().get_method(), ws_->get_request().get_uri());
  ws_->set_status(static_cast<websocketpp::http::status_code::value>(response.status));
  ws_->append_header("Content-Type", response.content_type);
  ws_->append_header("Cache-Control", "no-store");
  if (ws_->get_request().get_method() != "HEAD") ws_->set_body(std::move(response.body));
}

void Session::on_open() {
  open_ = true;
  heartbeat_timer_.cancel();  // the handshake deadline: the ping cycle starts
  ++server_.metrics.connections_open;
  server_.per_source.opened(source_);
  server_.hub.connect(*this);
}

// ------------------------------------------------------------------ writing

void Session::deliver(const FramePtr& frame) {
  if (!open_ || closing_ || overflowed_ || ws_->get_state() != websocketpp::session::state::open)
    return;
  if (queue_.bytes() + frame->size() > server_.config.max_queue_bytes) {
    // Not closed here, mid-broadcast: in a task of its own, right after.
    overflowed_ = true;
    asio::post(socket_.get_executor(),
               [self = shared_from_this()] { self->close_slow_consumer(); });
    return;
  }
  enqueue(frame);
}

std::size_t Session::send_room() const {
  std::size_t limit = server_.config.max_queue_bytes;
  return queue_.bytes() >= limit ? 0 : limit - queue_.bytes();
}

void Session::enqueue(FramePtr frame) {
  ++server_.metrics.frames_out;
  queue_.push(std::move(frame));
  if (!flush_scheduled_ && !write_blocked_ && !socket_closed_) {
    flush_scheduled_ = true;
    server_.flusher.schedule(shared_from_this());
  }
}

void Session::flush() {
  flush_scheduled_ = false;
  while (!queue_.empty() && !write_blocked_ && !socket_closed_) {
    shared_gather.clear();
    std::size_t offered = queue_.gather(shared_gather, kMaxGather);
    std::error_code ec;
    std::size_t written = socket_.write_some(shared_gather, ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      write_blocked_ = true;
      break;
    }
    if (ec) {
      if (!quiet_error(ec)) log::info("write error: ", ec.message());
      drop_socket();
      return;
    }
    ++server_.metrics.writes;
    server_.metrics.bytes_out += written;
    queue_.consume(written);
    if (written < offered) write_blocked_ = true;  // the kernel's buffer is full
  }
  if (write_blocked_ || (shutdown_ && queue_.empty())) wake_writer();
}

void Session::wake_writer() {
  if (writer_sleeping_) {
    writer_sleeping_ = false;
    writer_wake_.cancel();
  }
}

std::error_code Session::on_write(const std::vector<websocketpp::transport::buffer>& buffers) {
  // Bytes websocketpp made for this connection alone (handshake answer,
  // pong, close): copied, since websocketpp reuses its buffers.
  std::string bytes;
  for (const auto& b : buffers) bytes.append(b.buf, b.len);
  if (invalid_close_reason_answer(bytes)) {
    // RFC 6455 8.1: text that is not UTF-8 fails the connection with 1007;
    // websocketpp says 1002 for a close reason. Its close frame, patched.
    bytes[2] = static_cast<char>(1007 >> 8);
    bytes[3] = static_cast<char>(1007 & 0xFF);
    close_code_ = 1007;
  }
  enqueue(Frame::raw(std::move(bytes)));
  return {};
}

// Whether `bytes` is websocketpp's answer to a close whose reason is not
// UTF-8: the only close it sends with this reason.
bool Session::invalid_close_reason_answer(std::string_view bytes) const {
  constexpr std::string_view kReason = "Invalid close reason";
  return ws_->get_local_close_code() == websocketpp::close::status::protocol_error &&
         ws_->get_local_close_reason() == kReason && bytes.size() == 4 + kReason.size() &&
         static_cast<unsigned char>(bytes[0]) == 0x88 &&
         static_cast<std::size_t>(bytes[1]) == 2 + kReason.size() && bytes.substr(4) == kReason;
}

std::error_code Session::on_shutdown() {
  shutdown_ = true;
  wake_writer();
  return {};
}

// Waits while the socket would block, and ends the connection once
// websocketpp is done and everything queued has been written.
asio::awaitable<void> Session::write_loop() {
  while (!socket_closed_) {
    if (write_blocked_) {
      auto [ec] = co_await socket_.async_wait(asio::socket_base::wait_write, use_tuple);
      if (ec) break;
      write_blocked_ = false;
      flush();
      continue;
    }
    if (shutdown_) {
      flush();
      if (queue_.empty() || socket_closed_) break;
      continue;
    }
    writer_sleeping_ = true;
    co_await writer_wake_.async_wait(use_tuple);
  }
  drop_socket();
}

// ---------------------------------------------------------------- heartbeat

// First the handshake deadline (on_open cancels it), then a WebSocket ping
// every ping_interval_ms; a ping unanswered for ping_timeout_ms closes 1001.
asio::awaitable<void> Session::heartbeat() {
  using std::chrono::milliseconds;
  heartbeat_timer_.expires_after(milliseconds(server_.config.handshake_timeout_ms));
  co_await heartbeat_timer_.async_wait(use_tuple);
  if (finished_ || socket_closed_) co_return;
  if (!open_) {
    if (ws_->get_state() == websocketpp::session::state::connecting) {
      server_.metrics.count_limit(Limit::handshake_timeout);
      log::info("handshake not finished within ", server_.config.handshake_timeout_ms,
                " ms: dropped");
    }
    drop_socket();
    co_return;
  }
  for (;;) {
    heartbeat_timer_.expires_after(milliseconds(server_.config.ping_interval_ms));
    co_await heartbeat_timer_.async_wait(use_tuple);
    if (finished_ || closing_ || ws_->get_state() != websocketpp::session::state::open) co_return;
    pong_received_ = false;
    std::error_code ec;
    ws_->ping("", ec);
    if (ec) co_return;
    heartbeat_timer_.expires_after(milliseconds(server_.config.ping_timeout_ms));
    co_await heartbeat_timer_.async_wait(use_tuple);
    if (finished_ || closing_ || ws_->get_state() != websocketpp::session::state::open) co_return;
    if (!pong_received_) {
      server_.metrics.count_limit(Limit::ping_timeout);
      log::info("no pong from ", name, " within ", server_.config.ping_timeout_ms,
                " ms: closing 1001");
      close(1001, "ping timeout");
      co_return;
    }
  }
}

// ------------------------------------------------------------------ closing

void Session::close_slow_consumer() {
  if (closing_ || socket_closed_) return;
  server_.metrics.count_limit(Limit::queue_bytes);
  log::info("slow consumer ", name, ": over ", server_.config.max_queue_bytes,
            " queued bytes, closing 1008");
  queue_.drop_unstarted();  // its backlog goes; the close frame follows what was started
  close(1008, "slow consumer: send queue full");
}

void Session::close(std::uint16_t code, std::string_view reason) {
  if (closing_ || socket_closed_) return;
  closing_ = true;
  close_code_ = code;
  if (ws_->get_state() == websocketpp::session::state::open) {
    std::error_code ec;
    ws_->close(code, std::string(reason), ec);
    start_close_watchdog();
  } else {
    drop_socket();
  }
}

void Session::start_close_watchdog() {
  if (watchdog_started_ || socket_closed_) return;
  watchdog_started_ = true;
  asio::co_spawn(
      socket_.get_executor(), [self = shared_from_this()] { return self->close_watchdog(); },
      asio::detached);
}

// The peer has close_timeout_ms to answer our close frame; then it is dropped.
asio::awaitable<void> Session::close_watchdog() {
  close_timer_.expires_after(std::chrono::milliseconds(server_.config.close_timeout_ms));
  auto [ec] = co_await close_timer_.async_wait(use_tuple);
  if (!ec && !socket_closed_) {
    log::info("no close reply from ", name, " within ", server_.config.close_timeout_ms,
              " ms: dropped");
    drop_socket();
  }
}

void Session::drop_socket() {
  if (socket_closed_) return;
  socket_closed_ = true;
  std::error_code ignored;
  socket_.shutdown(asio::socket_base::shutdown_both, ignored);
  socket_.close(ignored);  // wakes the reader
  close_timer_.cancel();
  wake_writer();
  queue_.clear();
  finish();
}

void Session::on_closed() {
  finish();
}  // websocketpp's close or fail handler

void Session::finish() {
  if (finished_) return;
  finished_ = true;
  if (open_) {
    namespace status = websocketpp::close::status;
    // websocketpp fails a connection itself (1002, 1007, 1009; also for a
    // peer's close with an invalid code or reason) and may end it within the
    // same read_all(): count its code, not the peer's.
    auto local = ws_->get_local_close_code();
    bool failed_here = local == status::protocol_error || local == status::invalid_payload ||
                       local == status::message_too_big;
    if (close_code_ == 0 && failed_here && ws_->get_remote_close_code() != local) {
      close_code_ = ws_->get_local_close_code();
      if (close_code_ == status::message_too_big) server_.metrics.count_limit(Limit::message_bytes);
    }
    // Who closed first decides the code counted: we (or websocketpp, for a
    // protocol error) or the peer; 1006 when the TCP connection just ended.
    std::uint16_t code = close_code_ != 0 ? close_code_ : ws_->get_remote_close_code();
    if (code == websocketpp::close::status::no_status && close_code_ == 0)
      code = websocketpp::close::status::abnormal_close;
    server_.metrics.count_close(code);
    if (code != 1000 && code != 1001 && code != 1005 && code != 1006)
      log::info("closed ", name, " with ", code);
    server_.hub.disconnect(*this);
    --server_.metrics.connections_open;
    server_.per_source.closed(source_);
  }
  server_.requests.forget(*this);
  heartbeat_timer_.cancel();
  server_.sessions.erase(this);
  if (server_.shutting_down && server_.sessions.empty() && server_.on_drained) server_.on_drained();
}

}  // namespace loopchat
