// An outbound WebSocket frame: immutable bytes shared by every connection it
// is queued to. A broadcast is encoded and framed once; server frames are
// unmasked, so all recipients get the very same bytes.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace loopchat {

class Frame {
 public:
  // A text frame holding `payload`, framed by websocketpp's frame code.
  static std::shared_ptr<const Frame> text(std::string_view payload);
  // Bytes websocketpp wrote for one connection (handshake answer, pong, close).
  static std::shared_ptr<const Frame> raw(std::string bytes);

  std::string_view bytes() const { return bytes_; }
  std::string_view payload() const { return std::string_view(bytes_).substr(payload_offset_); }
  std::size_t size() const { return bytes_.size(); }

  Frame(std::string bytes, std::size_t payload_offset)
      : bytes_(std::move(bytes)), payload_offset_(payload_offset) {}

 private:
  std::string bytes_;  // header and payload, contiguous: one iovec per frame
  std::size_t payload_offset_;
};

using FramePtr = std::shared_ptr<const Frame>;

}  // namespace loopchat
