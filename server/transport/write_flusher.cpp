#include "server/transport/write_flusher.hpp"

#include "server/transport/session.hpp"

namespace loopchat {

void WriteFlusher::schedule(std::shared_ptr<Session> session) {
  scheduled_.push_back(std::move(session));
  if (!posted_) {
    posted_ = true;
    asio::post(executor_, [this] { flush_all(); });
  }
}

void WriteFlusher::flush_all() {
  posted_ = false;
  flushing_.swap(scheduled_);  // flushing may schedule again: into the other list
  for (const std::shared_ptr<Session>& session : flushing_) session->flush();
  flushing_.clear();
}

}  // namespace loopchat
