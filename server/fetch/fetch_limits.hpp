// The limits of outbound fetches (the `fetch` request), with units in their
// names. Config embeds one; tests build it with small values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace loopchat {

struct FetchLimits {
  std::uint32_t timeout_ms = 5000;       // DNS + redirects + body, in total -> fetch_timeout
  std::size_t max_body_bytes = 1 << 20;  // body bytes read; the rest is not downloaded
  unsigned max_redirects = 3;            // redirects followed; one more -> fetch_failed
  std::size_t max_concurrent = 64;       // fetches in flight, process-wide -> server_busy
  std::size_t max_per_client = 4;        // fetches in flight per client -> server_busy
  std::vector<std::string> allow_cidrs;  // ranges exempt from the SSRF policy (--fetch-allow)
};

}  // namespace loopchat
