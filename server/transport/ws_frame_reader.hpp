// The RFC 6455 frame state of one open connection: websocketpp's hybi13
// processor, fed the bytes the connection reads. It unmasks, reassembles
// fragments, validates UTF-8 as it goes, and enforces the message limit; the
// connection acts on what comes out. All it keeps between reads is the
// header of the frame in progress and the message being reassembled.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "server/transport/ws_config.hpp"

namespace loopchat {

// What the reader found in the bytes fed to it, one thing at a time.
struct WsInput {
  enum class Kind { need_more, text, binary, ping, pong, close, failed };
  Kind kind = Kind::need_more;
  WsMessagePtr message;    // text, binary, ping, pong, close: its payload
  std::uint16_t code = 0;  // close: the peer's code (1005: none); failed: the code to close with
  std::string reason;      // close: the peer's reason; failed: why
};

class WsFrameReader {
 public:
  explicit WsFrameReader(std::size_t max_message_bytes);

  // Consumes bytes from `data` until one input is complete or the bytes run
  // out; `used` says how many it took. Call again with the rest.
  WsInput read(const char* data, std::size_t size, std::size_t& used);

 private:
  WsProcessor processor_;
};

}  // namespace loopchat
