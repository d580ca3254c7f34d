#include <algorithm>
#include <string>

#include "server/transport/ws_config.hpp"
#include "tests/fuzz/harness.hpp"

namespace loopchat::fuzz {
namespace {

constexpr std::string_view kUpgrade =
    "GET /ws HTTP/1.1\r\nHost: fuzz\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

}  // namespace

void ws_server_one_input(std::string_view bytes) {
  std::string input;
  if (!bytes.empty() && (static_cast<unsigned char>(bytes[0]) & 1) != 0) input = kUpgrade;
  if (!bytes.empty()) input.append(bytes.substr(1));

  // As server/session.cpp sets a connection up (its message limit included).
  auto con = ws_endpoint().get_connection();
  con->set_max_message_size(64 * 1024);
  std::size_t written = 0;
  con->set_validate_handler([&con](websocketpp::connection_hdl) {
    std::string_view target = con->get_request().get_uri();
    return target.substr(0, target.find('?')) == "/ws";
  });
  con->set_http_handler([&con](websocketpp::connection_hdl) {
    con->set_status(websocketpp::http::status_code::ok);
    con->set_body("ok\n");
  });
  con->set_message_handler([&con](websocketpp::connection_hdl, WsEndpoint::message_ptr m) {
    if (m->get_opcode() != websocketpp::frame::opcode::text) {
      std::error_code ec;
      con->close(1003, "text frames only", ec);
    }
  });
  con->set_vector_write_handler(
      [&written](websocketpp::connection_hdl,
                 const std::vector<websocketpp::transport::buffer>& buffers) {
        for (const auto& b : buffers) written += b.len;
        return std::error_code();
      });
  con->set_write_handler([&written](websocketpp::connection_hdl, const char*, std::size_t size) {
    written += size;
    return std::error_code();
  });
  con->set_shutdown_handler([](websocketpp::connection_hdl) { return std::error_code(); });
  con->start();

  // In reads of varying size, as a socket would deliver them.
  std::size_t at = 0, step = 1;
  while (at < input.size()) {
    std::size_t n = std::min(step, input.size() - at);
    if (con->read_all(input.data() + at, n) < n) break;  // websocketpp stopped reading
    at += n;
    step = step * 3 % 1500 + 1;
  }
  con->eof();  // as the session does when the socket ends: releases the connection
}

}  // namespace loopchat::fuzz
