#include "server/transport/write_flusher.hpp"

#include "server/transport/connection.hpp"

namespace loopchat {

void WriteFlusher::schedule(std::shared_ptr<Connection> connection) {
  scheduled_.push_back(std::move(connection));
  if (!posted_) {
    posted_ = true;
    asio::post(executor_, [this] { flush_all(); });
  }
}

void WriteFlusher::flush_all() {
  posted_ = false;
  barrier();
  flushing_.swap(scheduled_);  // flushing may schedule again: into the other list
  for (std::size_t i = 0; i < flushing_.size(); ++i) {
    // A fan-out touches thousands of connections once each, and each would
    // miss the cache: the next ones' lines arrive during this write's system call.
    if (i + 2 < flushing_.size()) flushing_[i + 2]->prefetch_for_flush();
    if (i + 1 < flushing_.size()) flushing_[i + 1]->prefetch_queue_for_flush();
    flushing_[i]->flush();
  }
  flushing_.clear();
}

}  // namespace loopchat
