#include "client/ws_frame.hpp"

#include <gtest/gtest.h>

#include <cstring>

namespace loopchat::client {
namespace {

std::string bytes(std::initializer_list<int> values) {
  std::string out;
  for (int v : values) out.push_back(static_cast<char>(v));
  return out;
}

uint32_t key_of(std::initializer_list<int> values) {
  const std::string raw = bytes(values);
  uint32_t key;
  std::memcpy(&key, raw.data(), 4);
  return key;
}

// RFC 6455 section 5.7: a masked "Hello".
TEST(WsFrame, EncodesTheRfcMaskedHello) {
  std::string out;
  append_frame(out, Opcode::text, "Hello", true, key_of({0x37, 0xfa, 0x21, 0x3d}));
  EXPECT_EQ(out, bytes({0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}));
}

TEST(WsFrame, EncodesUnmaskedAndExtendedLengths) {
  std::string out;
  append_frame(out, Opcode::text, "Hello", false, 0);
  EXPECT_EQ(out, bytes({0x81, 0x05, 'H', 'e', 'l', 'l', 'o'}));

  out.clear();
  append_frame(out, Opcode::binary, std::string(256, 'x'), false, 0);
  ASSERT_EQ(out.size(), 4u + 256u);
  EXPECT_EQ(out.substr(0, 4), bytes({0x82, 0x7E, 0x01, 0x00}));

  out.clear();
  append_frame(out, Opcode::binary, std::string(65536, 'x'), true, 0x01020304);
  ASSERT_EQ(out.size(), 14u + 65536u);
  EXPECT_EQ(out.substr(0, 10), bytes({0x82, 0xFF, 0, 0, 0, 0, 0, 1, 0, 0}));
}

TEST(WsFrame, ParsesTheRfcFrames) {
  FrameHeader h;
  const std::string masked =
      bytes({0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58});
  ASSERT_EQ(parse_frame_header(masked, h), FrameParse::ok);
  EXPECT_TRUE(h.fin);
  EXPECT_EQ(h.opcode, Opcode::text);
  EXPECT_TRUE(h.masked);
  EXPECT_EQ(h.payload_length, 5u);
  EXPECT_EQ(h.header_length, 6u);
  std::string payload = masked.substr(6);
  apply_mask(payload.data(), payload.size(), h.mask_key);
  EXPECT_EQ(payload, "Hello");

  // A first fragment "Hel", unmasked.
  ASSERT_EQ(parse_frame_header(bytes({0x01, 0x03, 'H', 'e', 'l'}), h), FrameParse::ok);
  EXPECT_FALSE(h.fin);
  EXPECT_EQ(h.opcode, Opcode::text);

  // 256 bytes binary, 16-bit length.
  ASSERT_EQ(parse_frame_header(bytes({0x82, 0x7E, 0x01, 0x00}), h), FrameParse::ok);
  EXPECT_EQ(h.payload_length, 256u);
  EXPECT_EQ(h.header_length, 4u);

  // 64 KiB binary, 64-bit length.
  ASSERT_EQ(parse_frame_header(bytes({0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0}), h), FrameParse::ok);
  EXPECT_EQ(h.payload_length, 65536u);
  EXPECT_EQ(h.header_length, 10u);
}

TEST(WsFrame, AsksForMoreOnPartialHeaders) {
  FrameHeader h;
  EXPECT_EQ(parse_frame_header(bytes({0x81}), h), FrameParse::need_more);
  EXPECT_EQ(parse_frame_header(bytes({0x82, 0x7E, 0x01}), h), FrameParse::need_more);
  EXPECT_EQ(parse_frame_header(bytes({0x82, 0x7F, 0, 0, 0}), h), FrameParse::need_more);
  EXPECT_EQ(parse_frame_header(bytes({0x81, 0x85, 0x37, 0xfa}), h), FrameParse::need_more);
}

TEST(WsFrame, RejectsViolations) {
  FrameHeader h;
  EXPECT_EQ(parse_frame_header(bytes({0xC1, 0x00}), h), FrameParse::invalid);  // RSV1
  EXPECT_EQ(parse_frame_header(bytes({0x83, 0x00}), h), FrameParse::invalid);  // opcode 3
  EXPECT_EQ(parse_frame_header(bytes({0x09, 0x00}), h), FrameParse::invalid);  // fragmented ping
  EXPECT_EQ(parse_frame_header(bytes({0x89, 0x7E, 0x00, 0x7E}), h), FrameParse::invalid);
  EXPECT_EQ(parse_frame_header(bytes({0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0}), h),
            FrameParse::invalid);
}

TEST(WsFrame, MaskingIsItsOwnInverseAndWorksInPieces) {
  std::string data(1000, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7);
  const std::string original = data;
  const uint32_t key = key_of({0x11, 0x22, 0x33, 0x44});

  std::string whole = data;
  apply_mask(whole.data(), whole.size(), key);
  for (size_t i = 0; i < data.size(); ++i) {
    const uint8_t k = std::array<uint8_t, 4>{0x11, 0x22, 0x33, 0x44}[i % 4];
    ASSERT_EQ(static_cast<uint8_t>(whole[i]), static_cast<uint8_t>(original[i] ^ k)) << i;
  }
  std::string pieces = data;
  apply_mask(pieces.data(), 3, key, 0);
  apply_mask(pieces.data() + 3, 10, key, 3);
  apply_mask(pieces.data() + 13, pieces.size() - 13, key, 13);
  EXPECT_EQ(pieces, whole);
  apply_mask(whole.data(), whole.size(), key);
  EXPECT_EQ(whole, original);
}

TEST(WsFrame, ClosePayloadHoldsCodeAndReason) {
  EXPECT_EQ(close_payload(1000, "bye"), bytes({0x03, 0xE8, 'b', 'y', 'e'}));
  EXPECT_EQ(close_payload(1001, std::string(200, 'r')).size(), 125u);
}

}  // namespace
}  // namespace loopchat::client
