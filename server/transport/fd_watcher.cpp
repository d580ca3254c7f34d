#include "server/transport/fd_watcher.hpp"

#include <array>

#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/posix/stream_descriptor.hpp>

namespace loopchat {

struct FdWatcher::State {
  State(asio::io_context& io, int fd, Callback on_ready)
      : descriptor(io, fd), on_ready(std::move(on_ready)) {}

  // One per direction. A wait cancelled by watch() may still complete as
  // success if its completion was already queued: the generation tells.
  struct Side {
    bool wanted = false;
    bool waiting = false;
    unsigned generation = 0;  // of the wait pending now
    asio::cancellation_signal cancel;
  };

  asio::posix::stream_descriptor descriptor;
  Callback on_ready;
  std::array<Side, 2> sides;
  bool stopped = false;  // the watcher is gone: no more callbacks
};

void FdWatcher::arm(const std::shared_ptr<State>& state, Ready ready) {
  auto& side = state->sides[static_cast<int>(ready)];
  side.waiting = true;
  const auto generation = ++side.generation;
  const auto wait = ready == Ready::read ? asio::posix::descriptor_base::wait_read
                                         : asio::posix::descriptor_base::wait_write;
  state->descriptor.async_wait(
      wait, asio::bind_cancellation_slot(side.cancel.slot(),
                                         [state, ready, generation](std::error_code ec) {
                                           auto& side = state->sides[static_cast<int>(ready)];
                                           if (state->stopped || generation != side.generation)
                                             return;
                                           side.waiting = false;
                                           if (!side.wanted) return;
                                           if (ec != asio::error::operation_aborted)
                                             state->on_ready(ready, ec);
                                           if (!state->stopped && side.wanted && !side.waiting)
                                             arm(state, ready);
                                         }));
}

FdWatcher::FdWatcher(asio::io_context& io, int fd, Callback on_ready)
    : state_(std::make_shared<State>(io, fd, std::move(on_ready))) {}

FdWatcher::~FdWatcher() {
  state_->stopped = true;
  // Deregisters from epoll and aborts the waits; the descriptor stays open.
  // (on_ready is left alone: this may run inside it.)
  state_->descriptor.release();
}

void FdWatcher::watch(bool read, bool write) {
  for (const auto ready : {Ready::read, Ready::write}) {
    auto& side = state_->sides[static_cast<int>(ready)];
    side.wanted = ready == Ready::read ? read : write;
    if (side.wanted && !side.waiting) {
      arm(state_, ready);
    } else if (!side.wanted && side.waiting) {
      side.waiting = false;
      ++side.generation;
      side.cancel.emit(asio::cancellation_type::all);
    }
  }
}

}  // namespace loopchat
