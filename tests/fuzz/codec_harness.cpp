#include <cstdio>
#include <cstdlib>
#include <string>
#include <variant>

#include "common/codec.hpp"
#include "tests/fuzz/harness.hpp"

namespace loopchat::fuzz {

void codec_one_input(std::string_view bytes) {
  auto decoded = protocol::decode_request(bytes);
  auto* request = std::get_if<protocol::Request>(&decoded);
  if (request == nullptr) return;
  std::string once = protocol::encode(*request);
  auto again = protocol::decode_request(once);
  auto* request_again = std::get_if<protocol::Request>(&again);
  if (request_again == nullptr || protocol::encode(*request_again) != once) {
    std::fprintf(stderr, "codec round trip changed the request: %s\n", once.c_str());
    std::abort();
  }
}

}  // namespace loopchat::fuzz
