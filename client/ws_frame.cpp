#include "client/ws_frame.hpp"

#include <cstring>

namespace loopchat::client {

FrameParse parse_frame_header(std::string_view bytes, FrameHeader& out) {
  if (bytes.size() < 2) return FrameParse::need_more;
  const auto b0 = static_cast<uint8_t>(bytes[0]);
  const auto b1 = static_cast<uint8_t>(bytes[1]);
  if ((b0 & 0x70) != 0) return FrameParse::invalid;
  const uint8_t op = b0 & 0x0F;
  switch (op) {
    case 0x0:
    case 0x1:
    case 0x2:
    case 0x8:
    case 0x9:
    case 0xA:
      break;
    default:
      return FrameParse::invalid;
  }
  out.fin = (b0 & 0x80) != 0;
  out.opcode = static_cast<Opcode>(op);
  out.masked = (b1 & 0x80) != 0;
  const uint8_t len7 = b1 & 0x7F;
  size_t pos = 2;
  if (len7 == 126) {
    if (bytes.size() < pos + 2) return FrameParse::need_more;
    out.payload_length =
        (uint64_t{static_cast<uint8_t>(bytes[2])} << 8) | static_cast<uint8_t>(bytes[3]);
    pos += 2;
  } else if (len7 == 127) {
    if (bytes.size() < pos + 8) return FrameParse::need_more;
    uint64_t len = 0;
    for (size_t i = 0; i < 8; ++i) len = (len << 8) | static_cast<uint8_t>(bytes[pos + i]);
    if (len >> 63) return FrameParse::invalid;
    out.payload_length = len;
    pos += 8;
  } else {
    out.payload_length = len7;
  }
  if (is_control(out.opcode) && (!out.fin || out.payload_length > 125)) {
    return FrameParse::invalid;
  }
  if (out.masked) {
    if (bytes.size() < pos + 4) return FrameParse::need_more;
    std::memcpy(&out.mask_key, bytes.data() + pos, 4);
    pos += 4;
  } else {
    out.mask_key = 0;
  }
  out.header_length = pos;
  return FrameParse::ok;
}

void apply_mask(char* data, size_t length, uint32_t mask_key, size_t offset) {
  // Rotate the key so that data[0] meets key byte (offset % 4).
  unsigned char key[4];
  std::memcpy(key, &mask_key, 4);
  unsigned char rotated[8];
  for (size_t i = 0; i < 8; ++i) rotated[i] = key[(offset + i) % 4];
  uint64_t key8;
  std::memcpy(&key8, rotated, 8);
  size_t i = 0;
  for (; i + 8 <= length; i += 8) {
    uint64_t chunk;
    std::memcpy(&chunk, data + i, 8);
    chunk ^= key8;
    std::memcpy(data + i, &chunk, 8);
  }
  for (; i < length; ++i) data[i] = static_cast<char>(data[i] ^ rotated[i % 8]);
}

void append_frame(std::string& out, Opcode opcode, std::string_view payload, bool masked,
                  uint32_t mask_key, bool fin) {
  char header[14];
  size_t n = 0;
  header[n++] = static_cast<char>((fin ? 0x80 : 0x00) | static_cast<uint8_t>(opcode));
  const uint8_t mask_bit = masked ? 0x80 : 0x00;
  const uint64_t len = payload.size();
  if (len < 126) {
    header[n++] = static_cast<char>(mask_bit | len);
  } else if (len <= 0xFFFF) {
    header[n++] = static_cast<char>(mask_bit | 126);
    header[n++] = static_cast<char>(len >> 8);
    header[n++] = static_cast<char>(len & 0xFF);
  } else {
    header[n++] = static_cast<char>(mask_bit | 127);
    for (int shift = 56; shift >= 0; shift -= 8) header[n++] = static_cast<char>(len >> shift);
  }
  if (masked) {
    std::memcpy(header + n, &mask_key, 4);
    n += 4;
  }
  const size_t start = out.size();
  out.append(header, n);
  out.append(payload);
  if (masked) apply_mask(out.data() + start + n, payload.size(), mask_key);
}

std::string close_payload(uint16_t code, std::string_view reason) {
  std::string out;
  out.reserve(2 + reason.size());
  out.push_back(static_cast<char>(code >> 8));
  out.push_back(static_cast<char>(code & 0xFF));
  out.append(reason.substr(0, 123));  // a control payload holds at most 125 bytes
  return out;
}

}  // namespace loopchat::client
