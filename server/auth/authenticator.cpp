#include "server/auth/authenticator.hpp"

#include "server/wall_clock.hpp"

namespace loopchat {
namespace {

std::int64_t now_s() {
  return wall_clock_ms() / 1000;
}

}  // namespace

std::variant<GrantPtr, std::string> Authenticator::check(const std::string& token) const {
  if (!verifier_) return std::string("authentication is off on this server");
  auto verified = verifier_->verify(token, now_s());
  if (auto* why = std::get_if<std::string>(&verified)) return *why;
  return std::make_shared<const Grant>(std::move(std::get<Grant>(verified)));
}

void Authenticator::grant(Participant& p, GrantPtr grant) {
  forget(p);
  p.grant = std::move(grant);
  by_expiry_.emplace(p.grant->expires, &p);
  arm();
}

void Authenticator::forget(Participant& p) {
  if (p.grant) by_expiry_.erase({p.grant->expires, &p});
}

void Authenticator::arm() {
  if (by_expiry_.empty()) return;
  std::int64_t next = by_expiry_.begin()->first;
  if (armed_for_ != 0 && armed_for_ <= next) return;  // already waiting for an earlier one
  armed_for_ = next;
  timer_.expires_after(std::chrono::milliseconds(next * 1000 - wall_clock_ms()));
  timer_.async_wait([this](std::error_code ec) {
    if (!ec) on_timer();
  });
}

// Closes every connection whose token has run out; a refreshed one was
// moved to its new expiry, so what is due here is due.
void Authenticator::on_timer() {
  armed_for_ = 0;
  std::int64_t now = now_s();
  while (!by_expiry_.empty() && by_expiry_.begin()->first <= now) {
    Participant* p = by_expiry_.begin()->second;
    by_expiry_.erase(by_expiry_.begin());
    p->end(1008, "token expired");
  }
  arm();
}

}  // namespace loopchat
