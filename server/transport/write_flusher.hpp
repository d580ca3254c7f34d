// Writes every connection that has frames queued once per turn of the loop.
// The first frame queued to a connection schedules it here; one posted task,
// which runs after the handlers already queued (the rest of this batch of
// reads), then writes each scheduled connection's queue with one writev. So
// the frames a burst of requests makes for one socket share a system call
// (corking, as uWebSockets and Valkey do), and no connection needs a wake-up
// of its own. A write that would block is left to the connection, which waits
// until the socket is writable.
#pragma once

#include <asio.hpp>

#include <memory>
#include <vector>

namespace loopchat {

class Connection;

class WriteFlusher {
 public:
  explicit WriteFlusher(asio::io_context::executor_type executor)
      : executor_(std::move(executor)) {}
  void schedule(std::shared_ptr<Connection> session);

 private:
  void flush_all();

  asio::io_context::executor_type executor_;
  std::vector<std::shared_ptr<Connection>> scheduled_;
  std::vector<std::shared_ptr<Connection>> flushing_;
  bool posted_ = false;
};

}  // namespace loopchat
