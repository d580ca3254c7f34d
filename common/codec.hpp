// The one codec of protocol v1, shared by the server and the clients: it turns
// frames into typed, validated requests and events, and back. No other file
// knows a JSON field name.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/protocol.hpp"

namespace loopchat::protocol {

// Validation rules a request must pass before any handler sees it. The server
// sets them from its options; the protocol fixes the upper bounds.
struct RequestRules {
  std::size_t max_text_chars = 16384;  // `say`/`remind` text, in code points (-> too_long)
  std::size_t max_name_chars = 32;     // nicknames (-> bad_name)
  std::size_t max_room_chars = 64;     // room names (-> bad_room)
  std::int64_t max_after_ms = 24LL * 3600 * 1000;  // `remind` delay (-> bad_request)
  std::size_t max_url_chars = 2048;                // `fetch` url (-> too_long)
  std::size_t max_token_chars = 4096;              // `auth` token (-> too_long)
  std::size_t max_keys = 64;  // object members in the whole request (-> bad_request)
  std::size_t max_depth = 8;  // nesting of objects and arrays (-> bad_request)
};
inline constexpr std::size_t kMaxIdChars = 64;

// Decoding either yields a request or an error to answer with (carrying the
// request's id when it could be read).
using DecodedRequest = std::variant<Request, Error>;
DecodedRequest decode_request(std::string_view frame, const RequestRules& rules = {});

// Name rules, also used where the server makes up names (guest-N).
bool valid_room_name(std::string_view room, std::size_t max_chars = 64);
bool valid_nickname(std::string_view name, std::size_t max_chars = 32);
// Code points in valid UTF-8 text (the frame layer has already checked validity).
std::size_t utf8_length(std::string_view text);

std::string encode(const Request& request);
std::string encode(const Event& event);
// A `history` event from messages already encoded by encode(Message): the
// server keeps its history as the frames it sent, so nothing is encoded twice.
// `truncated` marks an answer trimmed to its byte budget; `epoch` is the
// room's history generation on a clustered server (empty: none).
std::string encode_history(std::string_view room, const std::vector<std::string_view>& messages,
                           const RequestId& id = {}, bool truncated = false,
                           std::string_view epoch = {});

// Decodes a server frame (for clients). Unknown types and malformed frames
// come back as an Error event with code bad_json/unknown_type/bad_request.
Event decode_event(std::string_view frame);

}  // namespace loopchat::protocol
