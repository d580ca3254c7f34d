#include "server/auth/origin_policy.hpp"

#include <algorithm>
#include <cctype>

namespace loopchat {
namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace

std::string normalize_origin(std::string_view origin) {
  std::string out = lower(origin);
  while (!out.empty() && out.back() == '/') out.pop_back();
  std::size_t scheme = out.find("://");
  if (scheme == std::string::npos || scheme == 0 || scheme + 3 >= out.size()) return {};
  if (out.find('/', scheme + 3) != std::string::npos) return {};  // a path is not an origin
  return out;
}

OriginPolicy::OriginPolicy(const std::vector<std::string>& allowed) {
  for (const std::string& origin : allowed)
    allowed_.push_back(origin == "*" ? origin : normalize_origin(origin));
}

bool OriginPolicy::allows(std::string_view origin, std::string_view host) const {
  if (origin.empty()) return true;  // not a browser page
  std::string asked = normalize_origin(origin);
  if (asked.empty()) return false;  // "null" (a sandboxed frame, a file) or garbage
  // Same origin: the page was served by this server under the Host it asks.
  std::string authority = asked.substr(asked.find("://") + 3);
  if (!host.empty() && authority == lower(host)) return true;
  return std::any_of(allowed_.begin(), allowed_.end(), [&](const std::string& allowed) {
    return allowed == "*" || allowed == asked;
  });
}

}  // namespace loopchat
