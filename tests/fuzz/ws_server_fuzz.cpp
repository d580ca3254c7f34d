// libFuzzer entry point: what a client sends to the server (upgrade, frames).
#include <cstddef>
#include <cstdint>

#include "tests/fuzz/harness.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  loopchat::fuzz::ws_server_one_input({reinterpret_cast<const char*>(data), size});
  return 0;
}
