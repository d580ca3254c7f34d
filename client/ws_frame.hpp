// The RFC 6455 frame codec, as pure functions over bytes: no sockets, so the
// tests can compare it with frames written by hand.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace loopchat::client {

enum class Opcode : uint8_t {
  continuation = 0x0,
  text = 0x1,
  binary = 0x2,
  close = 0x8,
  ping = 0x9,
  pong = 0xA,
};

inline bool is_control(Opcode op) {
  return (static_cast<uint8_t>(op) & 0x8) != 0;
}

struct FrameHeader {
  bool fin = true;
  Opcode opcode = Opcode::text;
  bool masked = false;
  uint32_t mask_key = 0;  // the four key bytes in wire order, as laid in memory
  uint64_t payload_length = 0;
  size_t header_length = 0;  // 2 to 14 bytes
};

enum class FrameParse {
  ok,         // header complete (the payload may still be incomplete)
  need_more,  // the header itself is incomplete
  invalid,    // a protocol violation: the connection must fail with 1002
};

// Reads the header at the start of `bytes`. Rejects reserved bits (no
// extensions are negotiated), unknown opcodes, fragmented or long control
// frames and 64-bit lengths with the top bit set.
FrameParse parse_frame_header(std::string_view bytes, FrameHeader& out);

// XORs `data` with the key, starting `offset` bytes into the key's cycle
// (so a payload can be unmasked in pieces). Eight bytes a step.
void apply_mask(char* data, size_t length, uint32_t mask_key, size_t offset = 0);

// Appends one frame; masked when `masked` (clients must mask, servers must not).
void append_frame(std::string& out, Opcode opcode, std::string_view payload, bool masked,
                  uint32_t mask_key, bool fin = true);

// The payload of a close frame: the code in network order, then the reason.
std::string close_payload(uint16_t code, std::string_view reason);

}  // namespace loopchat::client
