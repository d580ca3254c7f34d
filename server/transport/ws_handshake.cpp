#include "server/transport/ws_handshake.hpp"

#include <algorithm>

namespace loopchat {

HttpRequestReader::HttpRequestReader(std::size_t max_head_bytes) : max_head_bytes_(max_head_bytes) {
  request_.set_max_body_size(0);  // requests carry no body
}

HttpRequestReader::Status HttpRequestReader::read(const char* data, std::size_t size,
                                                  std::size_t& used) {
  // Never more than the limit reaches the parser: its own cap is 16000 bytes.
  std::size_t offered = std::min(size, max_head_bytes_ - head_bytes_);
  try {
    used = request_.consume(data, offered);
  } catch (const websocketpp::http::exception& e) {
    used = offered;
    error_status_ = e.m_error_code;
    return e.m_error_code == websocketpp::http::status_code::request_header_fields_too_large
               ? Status::too_large
               : Status::malformed;
  }
  head_bytes_ += used;
  if (request_.ready()) return Status::complete;
  return head_bytes_ >= max_head_bytes_ ? Status::too_large : Status::incomplete;
}

UpgradeRequest classify_upgrade(const HttpRequest& request) {
  // websocketpp's helpers take a non-const request but only read it.
  auto& r = const_cast<HttpRequest&>(request);
  if (!websocketpp::processor::is_websocket_handshake(r)) return UpgradeRequest::none;
  if (websocketpp::processor::get_websocket_version(r) != 13) return UpgradeRequest::bad_version;
  if (request.get_method() != "GET" || request.get_version() != "HTTP/1.1" ||
      request.get_header("Sec-WebSocket-Key").empty())
    return UpgradeRequest::malformed;
  return UpgradeRequest::acceptable;
}

std::string_view request_path(const HttpRequest& request) {
  std::string_view target = request.get_uri();
  return target.substr(0, target.find('?'));
}

std::string upgrade_token(const HttpRequest& request) {
  const std::string& uri = request.get_uri();
  std::size_t query = uri.find('?');
  if (query != std::string::npos) {
    std::string_view rest = std::string_view(uri).substr(query + 1);
    while (!rest.empty()) {
      std::string_view pair = rest.substr(0, rest.find('&'));
      rest.remove_prefix(std::min(rest.size(), pair.size() + 1));
      if (pair.starts_with("token=")) return std::string(pair.substr(6));  // base64url: no escapes
    }
  }
  const std::string& authorization = request.get_header("Authorization");
  constexpr std::string_view bearer = "Bearer ";
  if (authorization.size() > bearer.size() && authorization.starts_with(bearer))
    return authorization.substr(bearer.size());
  return {};
}

std::string upgrade_answer(const HttpRequest& request) {
  // The accept key is websocketpp's (SHA-1 and base64 of the key and the GUID).
  static WsConfig::rng_type unused_rng;
  WsProcessor processor(false, true, nullptr, unused_rng);
  WsConfig::response_type response;
  response.set_version("HTTP/1.1");
  response.set_status(websocketpp::http::status_code::switching_protocols);
  processor.process_handshake(request, "", response);
  return response.raw();
}

std::string http_answer(const HttpAnswer& answer) {
  WsConfig::response_type response;
  response.set_version("HTTP/1.1");
  response.set_status(static_cast<websocketpp::http::status_code::value>(answer.status));
  response.append_header("Content-Type", std::string(answer.content_type));
  if (answer.no_store) response.append_header("Cache-Control", "no-store");
  if (answer.websocket_version) response.append_header("Sec-WebSocket-Version", "13");
  response.append_header("Connection", "close");
  response.append_header("Content-Length", std::to_string(answer.body.size()));
  std::string bytes = response.raw();
  if (!answer.head_only) bytes += answer.body;
  return bytes;
}

}  // namespace loopchat
