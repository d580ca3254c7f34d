// HS256 JSON Web Tokens, verified (and minted) with libjwt: no crypto of our
// own. A token must be signed with HS256 by the server's secret, carry `sub`
// (a valid name) and `exp`, and may carry `rooms` (patterns) and `nbf`.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "server/auth/grant.hpp"

namespace loopchat {

struct TokenRules {
  std::size_t max_name_chars = 32;
  std::size_t max_room_patterns = 64;
  std::size_t max_room_chars = 64;
};

class TokenVerifier {
 public:
  explicit TokenVerifier(std::string secret, TokenRules rules = {})
      : secret_(std::move(secret)), rules_(rules) {}

  // The grant, or a one-line reason ("bad signature", "token expired", ...).
  std::variant<Grant, std::string> verify(const std::string& token, std::int64_t now_s) const;

 private:
  std::string secret_;
  TokenRules rules_;
};

// The secret in FILE, without its trailing newline; throws with a one-line
// reason when it cannot be read or is shorter than 32 bytes (HS256's key).
std::string read_secret_file(const std::string& path);

// A signed token for `sub`, valid from `now_s` for `ttl_s` seconds.
std::string mint_token(const std::string& secret, const std::string& sub,
                       const std::vector<std::string>& rooms, std::int64_t now_s,
                       std::int64_t ttl_s);

}  // namespace loopchat
