// Writes every connection that has frames queued once per turn of the loop.
// The first frame queued to a connection schedules it here; one posted task,
// which runs after the handlers already queued (the rest of this batch of
// reads), then writes each scheduled connection's queue with one writev. So
// the frames a burst of requests makes for one socket share a system call
// (corking, as uWebSockets and Valkey do), and no connection needs a wake-up
// of its own. A write that would block is left to the connection, which waits
// until the socket is writable.
//
// The barrier runs before any socket write of a turn: the message store
// commits there, so nothing reaches a client before it is stored.
#pragma once

#include <asio.hpp>

#include <functional>
#include <memory>
#include <vector>

namespace loopchat {

class Connection;

class WriteFlusher {
 public:
  explicit WriteFlusher(asio::io_context::executor_type executor)
      : executor_(std::move(executor)) {}
  void schedule(std::shared_ptr<Connection> session);
  void set_barrier(std::function<void()> barrier) { barrier_ = std::move(barrier); }
  // Called before frames are written outside flush_all() (a socket that
  // became writable again).
  void barrier() {
    if (barrier_) barrier_();
  }

 private:
  void flush_all();

  asio::io_context::executor_type executor_;
  std::vector<std::shared_ptr<Connection>> scheduled_;
  std::vector<std::shared_ptr<Connection>> flushing_;
  bool posted_ = false;
  std::function<void()> barrier_;
};

}  // namespace loopchat
