// Who may come in, piece by piece: tokens (libjwt underneath), room
// patterns, origins, X-Forwarded-For behind trusted proxies, and the pages
// of `who`.
#include <jwt.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <variant>

#include "server/auth/forwarded_for.hpp"
#include "server/auth/grant.hpp"
#include "server/auth/origin_policy.hpp"
#include "server/auth/token_verifier.hpp"
#include "server/engine/engine.hpp"

namespace loopchat {
namespace {

const std::string kSecret = "0123456789abcdef0123456789abcdef";  // 32 bytes
constexpr std::int64_t kNow = 1'800'000'000;

std::string verify_error(const std::string& token, std::int64_t now = kNow) {
  auto verified = TokenVerifier(kSecret).verify(token, now);
  auto* why = std::get_if<std::string>(&verified);
  return why != nullptr ? *why : "";
}

// A token signed as given, with claims as given (for what mint_token would not make).
std::string signed_token(const std::string& claims, jwt_alg_t alg = JWT_ALG_HS256,
                         const std::string& secret = kSecret) {
  jwt_t* jwt = nullptr;
  EXPECT_EQ(jwt_new(&jwt), 0);
  EXPECT_EQ(jwt_add_grants_json(jwt, claims.c_str()), 0);
  if (alg == JWT_ALG_NONE) {
    EXPECT_EQ(jwt_set_alg(jwt, JWT_ALG_NONE, nullptr, 0), 0);
  } else {
    EXPECT_EQ(jwt_set_alg(jwt, alg, reinterpret_cast<const unsigned char*>(secret.data()),
                          static_cast<int>(secret.size())),
              0);
  }
  char* encoded = jwt_encode_str(jwt);
  std::string token = encoded != nullptr ? encoded : "";
  std::free(encoded);
  jwt_free(jwt);
  return token;
}

TEST(Tokens, AMintedTokenGrantsItsNameExpiryAndRooms) {
  std::string token = mint_token(kSecret, "ann", {"team-*", "lobby"}, kNow, 3600);
  auto verified = TokenVerifier(kSecret).verify(token, kNow + 10);
  ASSERT_TRUE(std::holds_alternative<Grant>(verified)) << std::get<std::string>(verified);
  const Grant& grant = std::get<Grant>(verified);
  EXPECT_EQ(grant.name, "ann");
  EXPECT_EQ(grant.expires, kNow + 3600);
  EXPECT_TRUE(grant.allows("team-blue"));
  EXPECT_TRUE(grant.allows("lobby"));
  EXPECT_FALSE(grant.allows("lobby2"));
  EXPECT_FALSE(grant.allows("secret"));
}

TEST(Tokens, EachRefusalSaysWhy) {
  EXPECT_EQ(verify_error(""), "missing token");
  EXPECT_EQ(verify_error("not.a.jwt"), "malformed token");
  EXPECT_EQ(verify_error(mint_token("another secret, also 32 bytes long!!", "ann", {}, kNow, 60)),
            "bad signature");
  EXPECT_EQ(verify_error(mint_token(kSecret, "ann", {}, kNow, 60), kNow + 60), "token expired");
  EXPECT_EQ(verify_error(signed_token(R"({"sub":"ann"})")), "the token has no exp");
  EXPECT_EQ(verify_error(signed_token(R"({"exp":1900000000})")),
            "the token's sub must be a valid name");
  EXPECT_EQ(verify_error(signed_token(R"({"sub":" padded","exp":1900000000})")),
            "the token's sub must be a valid name");
  EXPECT_EQ(verify_error(signed_token(R"({"sub":"ann","exp":1900000000,"rooms":"lobby"})")),
            "the token's rooms must be a list of at most 64 patterns");
  EXPECT_EQ(verify_error(signed_token(R"({"sub":"ann","exp":1900000000,"rooms":["a b"]})")),
            "the token's rooms must be room names with * wildcards");
  EXPECT_EQ(verify_error(signed_token(R"({"sub":"ann","exp":1900000000,"nbf":1900000000})")),
            "token not valid yet");
}

TEST(Tokens, OnlyHs256IsTaken) {
  // Unsigned ("alg":"none") would need no secret at all; HS512 is not what
  // the server signs with.
  EXPECT_EQ(verify_error(signed_token(R"({"sub":"ann","exp":1900000000})", JWT_ALG_NONE)),
            "the token must be HS256");
  EXPECT_EQ(verify_error(signed_token(R"({"sub":"ann","exp":1900000000})", JWT_ALG_HS512)),
            "the token must be HS256");
}

TEST(Tokens, ATamperedPayloadFailsTheSignature) {
  std::string token = mint_token(kSecret, "ann", {}, kNow, 60);
  std::string other = mint_token(kSecret, "bob", {}, kNow, 60);
  // ann's header and signature around bob's claims.
  std::size_t a1 = token.find('.'), a2 = token.rfind('.');
  std::size_t b1 = other.find('.'), b2 = other.rfind('.');
  std::string forged = token.substr(0, a1) + other.substr(b1, b2 - b1) + token.substr(a2);
  EXPECT_EQ(verify_error(forged), "bad signature");
}

TEST(RoomPatterns, StarMatchesAnyRun) {
  EXPECT_TRUE(room_pattern_matches("team-*", "team-"));
  EXPECT_TRUE(room_pattern_matches("team-*", "team-blue"));
  EXPECT_TRUE(room_pattern_matches("*-ops", "core-ops"));
  EXPECT_TRUE(room_pattern_matches("a*b*c", "axxbyyc"));
  EXPECT_TRUE(room_pattern_matches("*", "anything"));
  EXPECT_FALSE(room_pattern_matches("team-*", "team"));
  EXPECT_FALSE(room_pattern_matches("a*b*c", "axxbyy"));
  EXPECT_FALSE(room_pattern_matches("lobby", "lobby-2"));
  Grant everything{"ann", 0, {}};
  EXPECT_TRUE(everything.allows("whatever")) << "no rooms claim: every room";
}

TEST(Origins, OwnOriginListedOnesAndNoOriginPass) {
  OriginPolicy policy({"https://Chat.Example.org/", "http://localhost:3000"});
  EXPECT_TRUE(policy.allows("", "127.0.0.1:8080")) << "no Origin: not a browser page";
  EXPECT_TRUE(policy.allows("http://127.0.0.1:8080", "127.0.0.1:8080")) << "the server's own";
  EXPECT_TRUE(policy.allows("https://chat.example.org", "10.0.0.5:8080"));
  EXPECT_TRUE(policy.allows("http://localhost:3000", "127.0.0.1:8080"));
  EXPECT_FALSE(policy.allows("https://evil.example", "127.0.0.1:8080"));
  EXPECT_FALSE(policy.allows("http://127.0.0.1:8081", "127.0.0.1:8080")) << "another port";
  EXPECT_FALSE(policy.allows("null", "127.0.0.1:8080"));
  EXPECT_TRUE(OriginPolicy({"*"}).allows("https://evil.example", "127.0.0.1:8080"));
  EXPECT_EQ(normalize_origin("https://a.example/path"), "") << "an origin has no path";
}

TEST(ForwardedFor, BelievedOnlyFromATrustedProxy) {
  std::string error;
  std::vector<Cidr> trusted = {*parse_cidr("127.0.0.1/32", error),
                               *parse_cidr("10.0.0.0/8", error)};
  auto proxy = asio::ip::make_address("127.0.0.1");
  auto stranger = asio::ip::make_address("192.0.2.1");
  EXPECT_EQ(forwarded_client(proxy, "203.0.113.7", trusted).to_string(), "203.0.113.7");
  EXPECT_EQ(forwarded_client(stranger, "203.0.113.7", trusted).to_string(), "192.0.2.1");
  // The client wrote a first entry itself; the proxies appended what they saw.
  EXPECT_EQ(forwarded_client(proxy, "6.6.6.6, 203.0.113.7, 10.1.2.3", trusted).to_string(),
            "203.0.113.7");
  EXPECT_EQ(forwarded_client(proxy, "garbage", trusted).to_string(), "127.0.0.1");
  EXPECT_EQ(forwarded_client(proxy, "", trusted).to_string(), "127.0.0.1");
}

TEST(WhoPages, SortedDistinctAndPagedAfterAName) {
  std::vector<std::string> names = {"dan", "ann", "cat", "bob", "ann", "eve"};
  WhoSlice first = page_of_names(names, {std::nullopt, 2});
  EXPECT_EQ(first.names, (std::vector<std::string>{"ann", "bob"}));
  EXPECT_TRUE(first.truncated);
  WhoSlice second = page_of_names(names, {"bob", 2});
  EXPECT_EQ(second.names, (std::vector<std::string>{"cat", "dan"}));
  WhoSlice last = page_of_names(names, {"dan", 2});
  EXPECT_EQ(last.names, (std::vector<std::string>{"eve"}));
  EXPECT_FALSE(last.truncated);
}

}  // namespace
}  // namespace loopchat
