// RFC 6455 conformance with a raw-socket client, modelled on the categories
// of Autobahn|Testsuite: framing (1, 3, 4), pings and pongs (2),
// fragmentation (5), UTF-8 (6), the close handshake (7) and large messages
// (9). Each case checks the RFC's answer: the close code, and that the
// server then ends the TCP connection (or, for valid input, answers).
#include <gtest/gtest.h>

#include <memory>

#include "tests/robustness/metrics_probe.hpp"
#include "tests/robustness/raw_ws.hpp"
#include "tests/support/server_process.hpp"

namespace loopchat::test {
namespace {

constexpr std::uint8_t kCont = 0x0, kText = 0x1, kBinary = 0x2, kClose = 0x8, kPing = 0x9,
                       kPong = 0xA;
constexpr std::size_t kMaxMessage = 4096;

const std::string kPingRequest = R"({"type":"ping","id":7})";

class Rfc6455 : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<ServerProcess>(std::vector<std::string>{
        "--max-message-bytes", std::to_string(kMaxMessage), "--close-timeout-ms", "3000"});
  }

  void TearDown() override {
    // Whatever the case did, the server still serves a new client.
    auto probe = open();
    probe->send(make_frame(kText, kPingRequest));
    auto answer = probe->read_frame();
    ASSERT_TRUE(answer.has_value());
    EXPECT_NE(answer->payload.find("\"pong\""), std::string::npos) << answer->payload;
  }

  // An upgraded connection whose welcome has been read.
  std::unique_ptr<RawWsClient> open() {
    auto c = std::make_unique<RawWsClient>(server_->port());
    EXPECT_EQ(c->upgrade(), 101) << c->response_head();
    auto welcome = c->read_frame();
    EXPECT_TRUE(welcome && welcome->opcode == kText &&
                welcome->payload.find("welcome") != std::string::npos);
    return c;
  }

  // The server must answer `bytes` with a close frame carrying `code`, then
  // end the connection once we acknowledge it.
  void expect_failed(const std::string& bytes, std::uint16_t code) {
    auto c = open();
    c->send(bytes);
    auto close = c->read_until_close();
    ASSERT_TRUE(close.has_value()) << "connection ended without a close frame, expected " << code;
    EXPECT_EQ(close->close_code(), code) << "reason: " << close->close_reason();
    try {
      c->send(close_frame(1000));
    } catch (const std::runtime_error&) {
      // The server may already have closed the TCP connection: allowed.
    }
    EXPECT_TRUE(c->ended()) << "the server kept the connection open after failing it";
    // Counted under the code it was failed with, once.
    std::string counted = "loopchat_closes_total{code=\"" + std::to_string(code) + "\"}";
    EXPECT_TRUE(eventually([&] { return metric(server_->port(), counted) == 1; })) << counted;
  }

  // The server must answer a valid `ping` request sent as `bytes`.
  void expect_pong(RawWsClient& c, const std::string& bytes) {
    c.send(bytes);
    auto answer = c.read_frame();
    ASSERT_TRUE(answer.has_value());
    EXPECT_EQ(answer->opcode, kText);
    EXPECT_NE(answer->payload.find(R"("type":"pong")"), std::string::npos) << answer->payload;
    EXPECT_NE(answer->payload.find(R"("id":7)"), std::string::npos) << answer->payload;
  }

  std::unique_ptr<ServerProcess> server_;
};

// ------------------------------------------------------------ framing (1, 3, 4)

TEST_F(Rfc6455, ValidTextFramesOfEachLengthEncodingAreProcessed) {
  auto c = open();
  expect_pong(*c, make_frame(kText, kPingRequest));                          // 7-bit length
  expect_pong(*c, make_frame(kText, kPingRequest + std::string(200, ' ')));  // 16-bit
  expect_pong(*c, make_frame(kText, kPingRequest + std::string(kMaxMessage - 22, ' ')));  // limit
}

TEST_F(Rfc6455, UnmaskedClientFrameIs1002) {
  expect_failed(make_frame(kText, kPingRequest, true, false), 1002);
}

TEST_F(Rfc6455, UnmaskedControlFrameIs1002) {
  expect_failed(make_frame(kPing, "x", true, false), 1002);
}

class ReservedBits : public Rfc6455, public ::testing::WithParamInterface<int> {};
TEST_P(ReservedBits, SetOnATextFrameIs1002) {
  expect_failed(make_frame(kText, kPingRequest, true, true, std::uint8_t(GetParam())), 1002);
}
TEST_P(ReservedBits, SetOnAPingIs1002) {
  expect_failed(make_frame(kPing, "x", true, true, std::uint8_t(GetParam())), 1002);
}
INSTANTIATE_TEST_SUITE_P(Rsv, ReservedBits, ::testing::Range(1, 8));

class UnknownOpcode : public Rfc6455, public ::testing::WithParamInterface<int> {};
TEST_P(UnknownOpcode, Is1002) {
  expect_failed(make_frame(std::uint8_t(GetParam()), "", true), 1002);
}
INSTANTIATE_TEST_SUITE_P(Reserved, UnknownOpcode,
                         ::testing::Values(0x3, 0x4, 0x5, 0x6, 0x7, 0xB, 0xC, 0xD, 0xE, 0xF));

TEST_F(Rfc6455, UnknownOpcodeAfterAValidMessageIs1002) {
  auto c = open();
  c->send(make_frame(kText, kPingRequest) + make_frame(0x5, "abc"));
  auto pong = c->read_frame();
  ASSERT_TRUE(pong.has_value());
  EXPECT_NE(pong->payload.find("pong"), std::string::npos);
  auto close = c->read_until_close();
  ASSERT_TRUE(close.has_value());
  EXPECT_EQ(close->close_code(), 1002);
}

// --------------------------------------------------------- pings and pongs (2)

TEST_F(Rfc6455, PingPayloadIsEchoedInThePong) {
  auto c = open();
  for (std::string payload : {std::string(), std::string("hello"), std::string("\x00\xff\xfe", 3),
                              std::string(125, 'p')}) {
    c->send(make_frame(kPing, payload));
    auto pong = c->read_frame();
    ASSERT_TRUE(pong.has_value());
    EXPECT_EQ(pong->opcode, kPong);
    EXPECT_EQ(pong->payload, payload);
  }
}

TEST_F(Rfc6455, TenPingsInOneWriteGetTenPongsInOrder) {
  auto c = open();
  std::string bytes;
  for (int i = 0; i < 10; ++i) bytes += make_frame(kPing, "ping " + std::to_string(i));
  c->send(bytes);
  for (int i = 0; i < 10; ++i) {
    auto pong = c->read_frame();
    ASSERT_TRUE(pong.has_value());
    EXPECT_EQ(pong->opcode, kPong);
    EXPECT_EQ(pong->payload, "ping " + std::to_string(i));
  }
}

TEST_F(Rfc6455, UnsolicitedPongIsIgnored) {
  auto c = open();
  c->send(make_frame(kPong, "unsolicited"));
  expect_pong(*c, make_frame(kText, kPingRequest));
}

TEST_F(Rfc6455, ControlFrameOver125BytesIs1002) {
  expect_failed(make_frame(kPing, std::string(126, 'p')), 1002);
}

TEST_F(Rfc6455, FragmentedPingIs1002) {
  expect_failed(make_frame(kPing, "frag", false) + make_frame(kCont, "ment"), 1002);
}

// ----------------------------------------------------------- fragmentation (5)

TEST_F(Rfc6455, FragmentedMessageIsReassembled) {
  auto c = open();
  expect_pong(*c, make_frame(kText, R"({"type":)", false) + make_frame(kCont, R"("ping",)", false) +
                      make_frame(kCont, R"("id":7})"));
}

TEST_F(Rfc6455, OneByteFragmentsAndEmptyFragmentsAreReassembled) {
  auto c = open();
  std::string bytes = make_frame(kText, "", false);
  for (char ch : kPingRequest) bytes += make_frame(kCont, std::string(1, ch), false);
  bytes += make_frame(kCont, "");
  expect_pong(*c, bytes);
}

TEST_F(Rfc6455, PingBetweenFragmentsIsAnsweredThenTheMessageIsProcessed) {
  auto c = open();
  c->send(make_frame(kText, R"({"type":"pi)", false) + make_frame(kPing, "between"));
  auto pong = c->read_frame();
  ASSERT_TRUE(pong.has_value());
  EXPECT_EQ(pong->opcode, kPong);
  EXPECT_EQ(pong->payload, "between");
  expect_pong(*c, make_frame(kCont, R"(ng","id":7})"));
}

TEST_F(Rfc6455, PongBetweenFragmentsIsIgnoredAndTheMessageProcessed) {
  auto c = open();
  expect_pong(*c, make_frame(kText, R"({"type":"pi)", false) + make_frame(kPong, "x") +
                      make_frame(kCont, R"(ng","id":7})"));
}

TEST_F(Rfc6455, ContinuationWithoutAStartIs1002) {
  expect_failed(make_frame(kCont, kPingRequest), 1002);
}

TEST_F(Rfc6455, UnfinishedContinuationWithoutAStartIs1002) {
  expect_failed(make_frame(kCont, "x", false), 1002);
}

TEST_F(Rfc6455, NewTextFrameInsideAFragmentedMessageIs1002) {
  expect_failed(make_frame(kText, R"({"type":)", false) + make_frame(kText, kPingRequest), 1002);
}

TEST_F(Rfc6455, NewFragmentedStartInsideAFragmentedMessageIs1002) {
  expect_failed(make_frame(kText, "a", false) + make_frame(kText, "b", false), 1002);
}

TEST_F(Rfc6455, BinaryMessageIs1003) {
  expect_failed(make_frame(kBinary, "\x01\x02"), 1003);
}

// ------------------------------------------------------------------- UTF-8 (6)

TEST_F(Rfc6455, InvalidUtf8InATextFrameIs1007) {
  expect_failed(make_frame(kText,
                           "{\"type\":\"ping\",\"x\":\"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc"
                           "\xce\xb5\xed\xa0\x80\x65\x64\x69\x74\x65\x64\"}"),
                1007);  // Autobahn 6.4: an UTF-16 surrogate inside
}

TEST_F(Rfc6455, InvalidUtf8InALaterFragmentIs1007) {
  expect_failed(make_frame(kText, R"({"type":"ping","x":")", false) +
                    make_frame(kCont, "\xf4\x90\x80\x80", false) + make_frame(kCont, "\"}"),
                1007);  // above U+10FFFF
}

TEST_F(Rfc6455, InvalidUtf8IsFailedBeforeTheMessageEnds) {
  // Fail fast (Autobahn 6.4.x): the message is never finished.
  auto c = open();
  c->send(make_frame(kText, "{\"x\":\"\xc0\xaf", false));  // an overlong '/'
  auto close = c->read_until_close();
  ASSERT_TRUE(close.has_value());
  EXPECT_EQ(close->close_code(), 1007);
}

TEST_F(Rfc6455, ValidUtf8SplitInsideACodePointAcrossFragmentsIsAccepted) {
  auto c = open();
  // U+1D11E (4 bytes) cut after its second byte.
  expect_pong(*c, make_frame(kText, "{\"x\":\"\xf0\x9d", false) +
                      make_frame(kCont, "\x84\x9e\",\"type\":\"ping\",\"id\":7}"));
}

// ---------------------------------------------------------- the close handshake (7)

class InvalidCloseCode : public Rfc6455, public ::testing::WithParamInterface<int> {};
TEST_P(InvalidCloseCode, Is1002) {
  expect_failed(close_frame(std::uint16_t(GetParam())), 1002);
}
INSTANTIATE_TEST_SUITE_P(Codes, InvalidCloseCode,
                         ::testing::Values(0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999,
                                           5000, 65535));

class ValidCloseCode : public Rfc6455, public ::testing::WithParamInterface<int> {};
TEST_P(ValidCloseCode, IsEchoed) {
  auto c = open();
  c->send(close_frame(std::uint16_t(GetParam()), "bye"));
  auto close = c->read_until_close();
  ASSERT_TRUE(close.has_value());
  EXPECT_EQ(close->close_code(), GetParam());
  EXPECT_TRUE(c->ended());
}
INSTANTIATE_TEST_SUITE_P(Codes, ValidCloseCode,
                         // 1012-1014 are in IANA's registry since Autobahn was written
                         // (service restart, try again later, bad gateway): valid.
                         ::testing::Values(1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011,
                                           1012, 1013, 1014, 3000, 3999, 4000, 4999));

TEST_F(Rfc6455, CloseWithoutPayloadIsAnsweredWithoutACodeOr1000) {
  auto c = open();
  c->send(make_frame(kClose, ""));
  auto close = c->read_until_close();
  ASSERT_TRUE(close.has_value());
  EXPECT_TRUE(close->payload.empty() || close->close_code() == 1000) << close->close_code();
  EXPECT_TRUE(c->ended());
}

TEST_F(Rfc6455, CloseWithAOneBytePayloadIs1002) {
  expect_failed(make_frame(kClose, "\x03"), 1002);
}

TEST_F(Rfc6455, CloseWithInvalidUtf8ReasonIs1007) {
  expect_failed(close_frame(1000, "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80"),
                1007);
}

TEST_F(Rfc6455, CloseWithTheLongestReasonIsEchoed) {
  auto c = open();
  c->send(close_frame(1000, std::string(123, 'r')));
  auto close = c->read_until_close();
  ASSERT_TRUE(close.has_value());
  EXPECT_EQ(close->close_code(), 1000);
}

TEST_F(Rfc6455, CloseWithAReasonTooLongForAControlFrameIs1002) {
  expect_failed(close_frame(1000, std::string(124, 'r')), 1002);
}

TEST_F(Rfc6455, DataAfterTheCloseIsIgnored) {
  auto c = open();
  c->send(close_frame(1000) + make_frame(kText, kPingRequest) + make_frame(kPing, "late"));
  auto frame = c->read_frame();
  ASSERT_TRUE(frame.has_value());
  EXPECT_EQ(frame->opcode, kClose) << "answered after the close: " << frame->payload;
  EXPECT_EQ(frame->close_code(), 1000);
  EXPECT_TRUE(c->ended());
}

TEST_F(Rfc6455, CloseInsideAFragmentedMessageIsAnswered) {
  auto c = open();
  c->send(make_frame(kText, R"({"type":"pi)", false) + close_frame(1000));
  auto frame = c->read_frame();
  ASSERT_TRUE(frame.has_value());
  EXPECT_EQ(frame->opcode, kClose);
  EXPECT_EQ(frame->close_code(), 1000);
  EXPECT_TRUE(c->ended());
}

// -------------------------------------------------------- large messages (9)

TEST_F(Rfc6455, MessageAtTheLimitInManyFragmentsIsProcessed) {
  auto c = open();
  std::string text = kPingRequest + std::string(kMaxMessage - kPingRequest.size(), ' ');
  std::string bytes;
  for (std::size_t at = 0; at < text.size(); at += 64)
    bytes += make_frame(at == 0 ? kText : kCont, text.substr(at, 64), at + 64 >= text.size());
  expect_pong(*c, bytes);
}

TEST_F(Rfc6455, OneByteOverTheLimitIs1009) {
  expect_failed(make_frame(kText, kPingRequest + std::string(kMaxMessage - 21, ' ')), 1009);
}

TEST_F(Rfc6455, FragmentsAddingUpOverTheLimitAre1009) {
  std::string bytes = make_frame(kText, std::string(kMaxMessage / 2, ' '), false);
  bytes += make_frame(kCont, std::string(kMaxMessage / 2, ' '), false);
  bytes += make_frame(kCont, "x", false);
  expect_failed(bytes, 1009);
}

TEST_F(Rfc6455, HugeDeclaredLengthIs1009WithoutWaitingForThePayload) {
  // A 64-bit length of 2^40 and no payload: refused from the header alone.
  std::string header = "\x81\xff";
  for (int i = 0; i < 8; ++i) header += (i == 3) ? '\x01' : '\x00';
  header += "abcd";
  expect_failed(header, 1009);
}

}  // namespace
}  // namespace loopchat::test
