// An outbound WebSocket frame: immutable bytes shared by every connection it
// is queued to. A broadcast is encoded and framed once; server frames are
// unmasked, so all recipients get the very same bytes.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace loopchat {

class Frame {
 public:
  // A text frame holding `payload`, framed by websocketpp's frame code.
  static std::shared_ptr<const Frame> text(std::string_view payload);
  // Control frames, for one connection. A close without a code (1005) has
  // no payload.
  static std::shared_ptr<const Frame> ping();
  static std::shared_ptr<const Frame> pong(std::string_view payload);
  static std::shared_ptr<const Frame> close(std::uint16_t code, std::string_view reason);
  // Bytes for one connection as they are (an HTTP answer).
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
