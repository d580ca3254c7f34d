#include <algorithm>
#include <optional>
#include <string>

#include "server/transport/frame.hpp"
#include "server/transport/ws_frame_reader.hpp"
#include "server/transport/ws_handshake.hpp"
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

  // As server/transport/connection.cpp consumes a client's bytes: the request
  // head, then (upgraded) frames until a close or a failure.
  HttpRequestReader request(8192);
  std::optional<WsFrameReader> frames;
  bool done = false;
  // In reads of varying size, as a socket would deliver them.
  std::size_t at = 0, step = 1;
  while (at < input.size() && !done) {
    std::size_t n = std::min(step, input.size() - at);
    step = step * 3 % 1500 + 1;
    char* data = input.data() + at;
    at += n;
    while (n > 0 && !done) {
      std::size_t used = 0;
      if (!frames) {
        auto status = request.read(data, n, used);
        if (status == HttpRequestReader::Status::complete) {
          if (classify_upgrade(request.request()) != UpgradeRequest::acceptable ||
              request_path(request.request()) != "/ws") {
            http_answer({.status = 404, .body = "no\n"});
            done = true;
          } else {
            upgrade_answer(request.request());
            frames.emplace(64 * 1024);
          }
        } else if (status != HttpRequestReader::Status::incomplete) {
          done = true;
        }
      } else {
        WsInput got = frames->read(data, n, used);
        if (got.kind == WsInput::Kind::ping) Frame::pong(got.message->get_payload());
        if (got.kind == WsInput::Kind::close) Frame::close(got.code, got.reason);
        if (got.kind == WsInput::Kind::close || got.kind == WsInput::Kind::failed) done = true;
      }
      data += used;
      n -= used;
    }
  }
}

}  // namespace loopchat::fuzz
