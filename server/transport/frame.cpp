#include "server/transport/frame.hpp"

#include <websocketpp/frame.hpp>

namespace loopchat {

std::shared_ptr<const Frame> Frame::text(std::string_view payload) {
  namespace wf = websocketpp::frame;
  wf::basic_header basic(wf::opcode::text, payload.size(), /*fin=*/true, /*mask=*/false);
  wf::extended_header extended(payload.size());
  std::string bytes = wf::prepare_header(basic, extended);
  std::size_t offset = bytes.size();
  bytes.append(payload);
  return std::make_shared<const Frame>(std::move(bytes), offset);
}

std::shared_ptr<const Frame> Frame::raw(std::string bytes) {
  return std::make_shared<const Frame>(std::move(bytes), 0);
}

}  // namespace loopchat
