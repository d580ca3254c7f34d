// The fuzzed code paths, as plain functions: the libFuzzer entry points call
// them, and the regression test (tests/robustness/fuzz_replay_test.cpp)
// replays every corpus file through them in the normal build.
#pragma once

#include <string_view>

namespace loopchat::fuzz {

// The request codec on arbitrary bytes: decode_request, and for what it
// accepts, encode and decode again (the same request must come back).
void codec_one_input(std::string_view bytes);

// The bytes a client sends, fed to the server's protocol layer as a
// connection feeds it (server/transport/ws_handshake.*, ws_frame_reader.*):
// the HTTP upgrade, then frames. An input whose first byte is odd gets a
// valid upgrade request put in front, so the fuzzer reaches the frame parser.
void ws_server_one_input(std::string_view bytes);

}  // namespace loopchat::fuzz
