// A connection's outbound frames, oldest first, counted in bytes. Frames are
// shared (the same bytes sit in many queues); the queue only remembers how
// much of its front frame a partial write has already sent.
#pragma once

#include <asio/buffer.hpp>

#include <cstddef>
#include <vector>

#include "server/transport/frame.hpp"

namespace loopchat {

class FrameQueue {
 public:
  void push(FramePtr frame) {
    bytes_ += frame->size();
    frames_.push_back(std::move(frame));
  }
  bool empty() const { return head_ == frames_.size(); }
  // Bytes still to write.
  std::size_t bytes() const { return bytes_; }
  const void* front_slot() const { return frames_.data() + head_; }  // for a prefetch

  // Appends up to `max` buffers, from the unwritten part of the front frame
  // on, to `out`; returns how many bytes they hold.
  std::size_t gather(std::vector<asio::const_buffer>& out, std::size_t max) const;
  // `written` bytes from the front have left.
  void consume(std::size_t written);
  // Drops every frame not started yet; a partly written front frame stays,
  // or the peer would see half a frame.
  void drop_unstarted();
  void clear();

 private:
  std::vector<FramePtr> frames_;  // [head_, end) are queued
  std::size_t head_ = 0;
  std::size_t front_offset_ = 0;  // bytes of frames_[head_] already written
  std::size_t bytes_ = 0;
};

}  // namespace loopchat
