#include "server/transport/frame.hpp"

#include <websocketpp/close.hpp>
#include <websocketpp/frame.hpp>

namespace loopchat {
namespace {

namespace wf = websocketpp::frame;

std::shared_ptr<const Frame> unmasked(wf::opcode::value opcode, std::string_view payload) {
  wf::basic_header basic(opcode, payload.size(), /*fin=*/true, /*mask=*/false);
  wf::extended_header extended(payload.size());
  std::string bytes = wf::prepare_header(basic, extended);
  std::size_t offset = bytes.size();
  bytes.append(payload);
  return std::make_shared<const Frame>(std::move(bytes), offset);
}

}  // namespace

std::shared_ptr<const Frame> Frame::text(std::string_view payload) {
  return unmasked(wf::opcode::text, payload);
}

std::shared_ptr<const Frame> Frame::ping() {
  return unmasked(wf::opcode::ping, {});
}

std::shared_ptr<const Frame> Frame::pong(std::string_view payload) {
  return unmasked(wf::opcode::pong, payload);
}

std::shared_ptr<const Frame> Frame::close(std::uint16_t code, std::string_view reason) {
  if (code == websocketpp::close::status::no_status) return unmasked(wf::opcode::close, {});
  // A control payload is at most 125 bytes: the code and up to 123 of reason.
  reason = reason.substr(0, wf::limits::payload_size_basic - 2);
  std::string payload{static_cast<char>(code >> 8), static_cast<char>(code & 0xFF)};
  payload.append(reason);
  return unmasked(wf::opcode::close, payload);
}

std::shared_ptr<const Frame> Frame::raw(std::string bytes) {
  return std::make_shared<const Frame>(std::move(bytes), 0);
}

}  // namespace loopchat
