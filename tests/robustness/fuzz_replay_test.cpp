// Every file of the fuzz corpora (tests/fuzz/corpus/<target>/), seeds and
// findings alike, replayed through the fuzzed code in the normal build: a
// finding, once fixed, stays a regression test here. Under tools/test
// --sanitize this runs with ASan and UBSan too.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/fuzz/harness.hpp"

namespace loopchat::test {
namespace {

namespace fs = std::filesystem;

int replay(const std::string& target, void (*one_input)(std::string_view)) {
  int files = 0;
  for (const auto& entry : fs::directory_iterator(fs::path(LOOPCHAT_FUZZ_CORPUS) / target)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    SCOPED_TRACE(entry.path().filename().string());
    one_input(bytes.str());
    ++files;
  }
  return files;
}

TEST(FuzzReplay, CodecCorpus) {
  EXPECT_GT(replay("codec", fuzz::codec_one_input), 0);
}

TEST(FuzzReplay, WsServerCorpus) {
  EXPECT_GT(replay("ws_server", fuzz::ws_server_one_input), 0);
}

}  // namespace
}  // namespace loopchat::test
