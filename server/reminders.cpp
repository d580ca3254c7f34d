#include "server/reminders.hpp"

#include <asio/experimental/as_tuple.hpp>

namespace loopchat {

bool Reminders::schedule(std::chrono::milliseconds after, Fire fire) {
  if (timers_.size() >= max_pending_) return false;
  auto due = std::chrono::steady_clock::now() + after;
  auto timer = std::make_shared<asio::steady_timer>(executor_, due);
  timers_.insert(timer.get());
  ++pending_total_;
  asio::co_spawn(executor_, wait(std::move(timer), due, std::move(fire), alive_), asio::detached);
  return true;
}

asio::awaitable<void> Reminders::wait(std::shared_ptr<asio::steady_timer> timer,
                                      std::chrono::steady_clock::time_point due, Fire fire,
                                      std::shared_ptr<bool> alive) {
  auto [ec] = co_await timer->async_wait(asio::experimental::as_tuple(asio::use_awaitable));
  // Cancelled: `this` may be gone already; only our own frame is safe.
  if (ec || !*alive) co_return;
  timers_.erase(timer.get());
  --pending_total_;
  auto late =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - due);
  fire(late);
}

void Reminders::cancel_all() {
  *alive_ = false;
  alive_ = std::make_shared<bool>(true);
  for (asio::steady_timer* timer : timers_) timer->cancel();
  pending_total_ -= timers_.size();
  timers_.clear();
}

}  // namespace loopchat
