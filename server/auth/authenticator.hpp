// Authentication, when --auth-secret-file turns it on (docs/security.md):
// the grant of an upgrade's token, the grant of a fresh token (`auth`), and
// the close of every connection whose token runs out (1008 "token
// expired"), from one timer for all of them.
#pragma once

#include <asio.hpp>

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <variant>

#include "server/auth/grant.hpp"
#include "server/auth/token_verifier.hpp"
#include "server/chat/participant.hpp"

namespace loopchat {

class Authenticator {
 public:
  // Off: every connection is a guest, as in open mode.
  explicit Authenticator(asio::io_context& io) : timer_(io) {}
  Authenticator(asio::io_context& io, TokenVerifier verifier)
      : verifier_(std::move(verifier)), timer_(io) {}

  bool enabled() const { return verifier_.has_value(); }
  std::variant<GrantPtr, std::string> check(const std::string& token) const;

  // Gives `p` its grant (first or fresh) and closes it when that runs out.
  void grant(Participant& p, GrantPtr grant);
  // `p` is going.
  void forget(Participant& p);

 private:
  void arm();
  void on_timer();

  std::optional<TokenVerifier> verifier_;
  asio::steady_timer timer_;
  std::set<std::pair<std::int64_t, Participant*>> by_expiry_;  // (expires, participant)
  std::int64_t armed_for_ = 0;                                 // the expiry the timer waits for
};

}  // namespace loopchat
