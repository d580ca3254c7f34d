// Which browser pages may open a WebSocket here (cross-site WebSocket
// hijacking): an upgrade's Origin must be the server's own (the Host it was
// asked by) or one of --allowed-origin (`*`: any). A request without Origin
// is not from a browser page (CLI, load generator, scripts) and passes.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace loopchat {

class OriginPolicy {
 public:
  // `allowed`: origins as given (normalized here) or "*".
  explicit OriginPolicy(const std::vector<std::string>& allowed);
  bool allows(std::string_view origin, std::string_view host) const;

 private:
  std::vector<std::string> allowed_;  // scheme://host[:port], lower case, or "*"
};

// "http://Example.org:8080/" -> "http://example.org:8080": what an
// --allowed-origin is compared as; empty when it is not an origin.
std::string normalize_origin(std::string_view origin);

}  // namespace loopchat
