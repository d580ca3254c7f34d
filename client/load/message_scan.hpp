// Reading the few fields the load generator needs from a server frame
// without a full JSON parse: at a million deliveries a second, a DOM per
// frame would make the load generator the bottleneck. Only for frames of a
// known shape; everything else goes through nlohmann_json.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace loopchat::load {

// The raw (still escaped) content of the string value of `"key"` in a JSON
// object, wherever the key stands; nullopt when absent or not a string.
std::optional<std::string_view> json_string_field(std::string_view json, std::string_view key);

// What a `say` text carries so that any recipient can measure delivery
// latency from the intended (scheduled) send time.
struct SayMarker {
  uint64_t intended_us = 0;  // microseconds since the load generator's start
  uint32_t sender = 0;
};

// "t=<intended_us>;s=<sender>;" then 'x' up to `size` bytes (longer when the
// marker itself does not fit). Appends to `out`.
void append_say_text(std::string& out, const SayMarker& marker, size_t size);
std::optional<SayMarker> parse_say_text(std::string_view text);

}  // namespace loopchat::load
