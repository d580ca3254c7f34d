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
  for (const std::shared_ptr<Connection>& connection : flushing_) connection->flush();
  flushing_.clear();
}

}  // namespace loopchat
