#include "server/transport/ws_frame_reader.hpp"

namespace loopchat {
namespace {

// Every connection's processor shares these: the manager only makes
// message buffers, and a server never masks, so the generator is unused.
WsConfig::con_msg_manager_type::ptr shared_message_manager() {
  static auto manager = std::make_shared<WsConfig::con_msg_manager_type>();
  return manager;
}
WsConfig::rng_type shared_rng;

// A close frame's code and reason, checked as RFC 6455 5.5.1 and 7.4 say.
WsInput close_input(WsMessagePtr message) {
  namespace close = websocketpp::close;
  WsInput input{WsInput::Kind::close, std::move(message), 0, {}};
  std::error_code ec;
  input.code = close::extract_code(input.message->get_payload(), ec);
  if (ec)
    return {WsInput::Kind::failed, nullptr, close::status::protocol_error, "invalid close code"};
  input.reason = close::extract_reason(input.message->get_payload(), ec);
  // RFC 6455 8.1: text that is not UTF-8 fails with 1007 (websocketpp says 1002).
  if (ec)
    return {WsInput::Kind::failed, nullptr, close::status::invalid_payload,
            "close reason is not UTF-8"};
  return input;
}

}  // namespace

WsFrameReader::WsFrameReader(std::size_t max_message_bytes)
    : processor_(/*secure=*/false, /*server=*/true, shared_message_manager(), shared_rng) {
  processor_.set_max_message_size(max_message_bytes);
}

WsInput WsFrameReader::read(const char* data, std::size_t size, std::size_t& used) {
  namespace opcode = websocketpp::frame::opcode;
  std::error_code ec;
  // websocketpp unmasks in place; the bytes are the loop's read buffer, ours to change.
  used = processor_.consume(reinterpret_cast<std::uint8_t*>(const_cast<char*>(data)), size, ec);
  if (ec) {
    auto code = websocketpp::processor::error::to_ws(ec);
    return {WsInput::Kind::failed, nullptr, static_cast<std::uint16_t>(code), ec.message()};
  }
  if (!processor_.ready()) return {};
  WsMessagePtr message = processor_.get_message();
  switch (message->get_opcode()) {
    case opcode::text:
      return {WsInput::Kind::text, std::move(message), 0, {}};
    case opcode::binary:
      return {WsInput::Kind::binary, std::move(message), 0, {}};
    case opcode::ping:
      return {WsInput::Kind::ping, std::move(message), 0, {}};
    case opcode::pong:
      return {WsInput::Kind::pong, std::move(message), 0, {}};
    case opcode::close:
      return close_input(std::move(message));
    default:
      return {WsInput::Kind::failed, nullptr, websocketpp::close::status::protocol_error,
              "invalid opcode"};
  }
}

}  // namespace loopchat
