// Readiness of a descriptor that another library owns (curl's and c-ares's
// sockets, a Redis client's), on the loop: the owner says what it wants to
// know, watch(read, write), and the watcher calls back when the descriptor
// is ready for it. The owner then reads or writes the descriptor itself.
//
// Rule: the watcher never closes the descriptor, and it must be destroyed
// before its owner closes it, so that asio never holds a number that the
// kernel may hand out again.
#pragma once

#include <functional>
#include <memory>
#include <system_error>

#include <asio/io_context.hpp>

namespace loopchat {

class FdWatcher {
 public:
  enum class Ready { read, write };
  // `error` is set when the wait itself failed; the owner learns why from its
  // next read or write. Never called once the watcher is destroyed.
  using Callback = std::function<void(Ready ready, std::error_code error)>;

  FdWatcher(asio::io_context& io, int fd, Callback on_ready);
  ~FdWatcher();  // ends its waits and lets go of the descriptor, still open
  FdWatcher(const FdWatcher&) = delete;
  FdWatcher& operator=(const FdWatcher&) = delete;

  // What the owner wants to know from now on. A wanted direction has a wait
  // pending whenever control is back in the loop (asio's epoll is
  // edge-triggered: a wait started later could miss the edge); an unwanted
  // one has none, so an idle watcher keeps no work on the io_context.
  // The callback may call watch() or destroy the watcher.
  void watch(bool read, bool write);

 private:
  struct State;
  static void arm(const std::shared_ptr<State>& state, Ready ready);
  std::shared_ptr<State> state_;  // shared with the pending waits' handlers
};

}  // namespace loopchat
