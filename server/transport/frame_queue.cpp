#include "server/transport/frame_queue.hpp"

namespace loopchat {
namespace {
// A drained queue keeps at most this many slots, so an idle connection that
// once had a burst does not hold on to a large array.
constexpr std::size_t kKeptCapacity = 16;
}  // namespace

std::size_t FrameQueue::gather(std::vector<asio::const_buffer>& out, std::size_t max) const {
  std::size_t total = 0;
  for (std::size_t i = head_; i < frames_.size() && out.size() < max; ++i) {
    std::string_view bytes = frames_[i]->bytes();
    if (i == head_) bytes.remove_prefix(front_offset_);
    out.push_back(asio::buffer(bytes));
    total += bytes.size();
  }
  return total;
}

void FrameQueue::consume(std::size_t written) {
  bytes_ -= written;
  while (written > 0) {
    std::size_t left = frames_[head_]->size() - front_offset_;
    if (written < left) {
      front_offset_ += written;
      return;
    }
    written -= left;
    frames_[head_++].reset();
    front_offset_ = 0;
  }
  if (empty()) clear();
}

void FrameQueue::drop_unstarted() {
  std::size_t keep = head_ + (front_offset_ > 0 ? 1 : 0);
  for (std::size_t i = keep; i < frames_.size(); ++i) bytes_ -= frames_[i]->size();
  frames_.resize(keep);
  if (empty()) clear();
}

void FrameQueue::clear() {
  frames_.clear();
  if (frames_.capacity() > kKeptCapacity) frames_.shrink_to_fit();
  head_ = 0;
  front_offset_ = 0;
  bytes_ = 0;
}

}  // namespace loopchat
