// The HTTP phase of a connection: reading one request head with
// websocketpp's parser, deciding whether it is a WebSocket upgrade we can
// accept, and writing the answer. The reader lives only until the request
// is answered, so an open connection keeps nothing of its handshake.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "server/transport/ws_config.hpp"

namespace loopchat {

class HttpRequestReader {
 public:
  enum class Status { incomplete, complete, too_large, malformed };

  explicit HttpRequestReader(std::size_t max_head_bytes);

  // Feeds bytes of the request head; `used` says how many it took (the rest,
  // if complete, are the client's first frames).
  Status read(const char* data, std::size_t size, std::size_t& used);
  const HttpRequest& request() const { return request_; }
  // For `malformed`: the HTTP status websocketpp's parser chose (400, 413, ...).
  int error_status() const { return error_status_; }

 private:
  HttpRequest request_;
  std::size_t head_bytes_ = 0;
  std::size_t max_head_bytes_;
  int error_status_ = 400;
};

// What an upgrade request asks for, as RFC 6455 4.2.1 checks it.
enum class UpgradeRequest {
  none,         // plain HTTP: no Upgrade: websocket / Connection: Upgrade
  acceptable,   // version 13, GET, HTTP/1.1, a key
  bad_version,  // missing or unsupported Sec-WebSocket-Version: 426
  malformed,    // anything else wrong: 400
};
UpgradeRequest classify_upgrade(const HttpRequest& request);

// The request target's path, without the query.
std::string_view request_path(const HttpRequest& request);
// The token of an upgrade: `?token=` on the URL (what a browser can send),
// else `Authorization: Bearer`; empty when neither.
std::string upgrade_token(const HttpRequest& request);

// `101 Switching Protocols` with the accept key for `request` (acceptable).
std::string upgrade_answer(const HttpRequest& request);

// A complete HTTP answer that ends the connection. `head_only` leaves the body out (HEAD).
struct HttpAnswer {
  int status = 200;
  std::string_view content_type = "text/plain; charset=utf-8";
  std::string body;
  bool head_only = false;
  bool no_store = false;           // Cache-Control: no-store
  bool websocket_version = false;  // Sec-WebSocket-Version: 13 (with 426)
};
std::string http_answer(const HttpAnswer& answer);

}  // namespace loopchat
