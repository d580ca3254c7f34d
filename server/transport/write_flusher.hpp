// Writes every connection that has frames queued once per turn of the loop.
// The first frame queued to a connection schedules it here; one posted task,
// which runs after the handlers already queued (the rest of this batch of
// reads), then writes each scheduled connection's queue with one writev. So
// the frames a burst of requests makes for one socket share a system call
// (corking, as uWebSockets and Valkey do), and no connection needs a wake-up
// of its own. A write that would block is left to the connection's writer
// coroutine, which waits until the socket is writable.
#pragma once

#include <asio.hpp>

#include <memory>
#include <vector>

namespace loopchat {

class Session;

class WriteFlusher {
 public:
  explicit WriteFlusher(asio::any_io_executor executor) : executor_(std::move(executor)) {}
  void schedule(std::shared_ptr<Session> session);

 private:
  void flush_all();

  asio::any_io_executor executor_;
  std::vector<std::shared_ptr<Session>> scheduled_;
  std::vector<std::shared_ptr<Session>> flushing_;
  bool posted_ = false;
};

}  // namespace loopchat
