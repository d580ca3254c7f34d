#include "server/auth/token_verifier.hpp"

#include <jwt.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <string_view>

#include "common/codec.hpp"

namespace loopchat {
namespace {

constexpr std::size_t kMinSecretBytes = 32;  // HS256: a key as long as the hash

struct JwtFree {
  void operator()(jwt_t* jwt) const { jwt_free(jwt); }
};
using Jwt = std::unique_ptr<jwt_t, JwtFree>;

Jwt decode(const std::string& token, const std::string* secret) {
  jwt_t* jwt = nullptr;
  int status =
      secret == nullptr
          ? jwt_decode(&jwt, token.c_str(), nullptr, 0)
          : jwt_decode(&jwt, token.c_str(), reinterpret_cast<const unsigned char*>(secret->data()),
                       static_cast<int>(secret->size()));
  if (status != 0) {
    jwt_free(jwt);
    return nullptr;
  }
  return Jwt(jwt);
}

bool valid_room_pattern(const std::string& pattern, std::size_t max_chars) {
  std::string as_room = pattern;
  for (char& c : as_room)
    if (c == '*') c = 'x';
  return protocol::valid_room_name(as_room, max_chars);
}

}  // namespace

std::variant<Grant, std::string> TokenVerifier::verify(const std::string& token,
                                                       std::int64_t now_s) const {
  if (token.empty()) return std::string("missing token");
  // Parsed unverified first, only to tell a malformed token and a foreign
  // algorithm from a bad signature; nothing of it is used unverified.
  Jwt parsed = decode(token, nullptr);
  if (!parsed) return std::string("malformed token");
  const char* alg = jwt_get_header(parsed.get(), "alg");
  if (alg == nullptr || std::string_view(alg) != "HS256")
    return std::string("the token must be HS256");
  Jwt jwt = decode(token, &secret_);
  if (!jwt || jwt_get_alg(jwt.get()) != JWT_ALG_HS256) return std::string("bad signature");

  char* grants = jwt_get_grants_json(jwt.get(), nullptr);
  nlohmann::json claims =
      nlohmann::json::parse(grants != nullptr ? grants : "", nullptr, /*allow_exceptions=*/false);
  std::free(grants);
  if (!claims.is_object()) return std::string("malformed token");
  Grant grant;
  auto sub = claims.find("sub");
  if (sub == claims.end() || !sub->is_string() ||
      !protocol::valid_nickname(sub->get<std::string>(), rules_.max_name_chars))
    return std::string("the token's sub must be a valid name");
  grant.name = sub->get<std::string>();
  auto exp = claims.find("exp");
  if (exp == claims.end() || !exp->is_number()) return std::string("the token has no exp");
  grant.expires = static_cast<std::int64_t>(exp->get<double>());
  if (grant.expires <= now_s) return std::string("token expired");
  if (auto nbf = claims.find("nbf"); nbf != claims.end() && nbf->is_number() &&
                                     static_cast<std::int64_t>(nbf->get<double>()) > now_s)
    return std::string("token not valid yet");
  if (auto rooms = claims.find("rooms"); rooms != claims.end()) {
    if (!rooms->is_array() || rooms->size() > rules_.max_room_patterns)
      return std::string("the token's rooms must be a list of at most " +
                         std::to_string(rules_.max_room_patterns) + " patterns");
    for (const auto& pattern : *rooms) {
      if (!pattern.is_string() ||
          !valid_room_pattern(pattern.get<std::string>(), rules_.max_room_chars))
        return std::string("the token's rooms must be room names with * wildcards");
      grant.rooms.push_back(pattern.get<std::string>());
    }
    if (grant.rooms.empty()) return std::string("the token's rooms allow no room");
  }
  return grant;
}

std::string read_secret_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw std::runtime_error("cannot read the secret file " + path + ": " + std::strerror(errno));
  std::ostringstream bytes;
  bytes << in.rdbuf();
  std::string secret = bytes.str();
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
  if (secret.size() < kMinSecretBytes)
    throw std::runtime_error("the secret in " + path + " is " + std::to_string(secret.size()) +
                             " bytes; HS256 needs at least " + std::to_string(kMinSecretBytes));
  return secret;
}

std::string mint_token(const std::string& secret, const std::string& sub,
                       const std::vector<std::string>& rooms, std::int64_t now_s,
                       std::int64_t ttl_s) {
  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0) throw std::runtime_error("libjwt: out of memory");
  Jwt jwt(raw);
  nlohmann::json claims = {{"sub", sub}, {"iat", now_s}, {"exp", now_s + ttl_s}};
  if (!rooms.empty()) claims["rooms"] = rooms;
  if (jwt_add_grants_json(jwt.get(), claims.dump().c_str()) != 0 ||
      jwt_set_alg(jwt.get(), JWT_ALG_HS256, reinterpret_cast<const unsigned char*>(secret.data()),
                  static_cast<int>(secret.size())) != 0)
    throw std::runtime_error("libjwt: cannot build the token");
  char* encoded = jwt_encode_str(jwt.get());
  if (encoded == nullptr) throw std::runtime_error("libjwt: cannot sign the token");
  std::string token(encoded);
  std::free(encoded);
  return token;
}

}  // namespace loopchat
