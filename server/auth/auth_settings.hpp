// Who may come in (docs/security.md): tokens, origins, trusted proxies.
// Part of Config; one command-line option each.
#pragma once

#include <string>
#include <vector>

namespace loopchat {

struct AuthSettings {
  std::string secret_file;                   // --auth-secret-file: empty, open mode
  std::vector<std::string> allowed_origins;  // --allowed-origin: besides the server's own
  std::vector<std::string> trusted_proxies;  // --trusted-proxy CIDRs: X-Forwarded-For is believed
};

}  // namespace loopchat
