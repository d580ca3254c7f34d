// libFuzzer entry point: the request codec (common/codec.hpp).
#include <cstddef>
#include <cstdint>

#include "tests/fuzz/harness.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  loopchat::fuzz::codec_one_input({reinterpret_cast<const char*>(data), size});
  return 0;
}
