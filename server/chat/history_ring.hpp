// A fixed-capacity ring of the most recent items: pushing into a full ring
// drops the oldest. Memory is bounded by the capacity, whatever the traffic.
#pragma once

#include <cstddef>
#include <vector>

namespace loopchat {

template <typename T>
class HistoryRing {
 public:
  explicit HistoryRing(std::size_t capacity) : capacity_(capacity) {}

  void push(T item) {
    if (capacity_ == 0) return;
    if (items_.size() < capacity_) {
      items_.push_back(std::move(item));
    } else {
      items_[head_] = std::move(item);
      head_ = (head_ + 1) % capacity_;
    }
  }

  std::size_t size() const { return items_.size(); }
  std::size_t capacity() const { return capacity_; }

  // The most recent `count` items, oldest first.
  template <typename Visit>
  void for_each_recent(std::size_t count, Visit visit) const {
    std::size_t n = items_.size() < count ? items_.size() : count;
    for (std::size_t i = items_.size() - n; i < items_.size(); ++i)
      visit(items_[(head_ + i) % items_.size()]);
  }

 private:
  std::size_t capacity_;
  std::size_t head_ = 0;  // index of the oldest item once the ring is full
  std::vector<T> items_;
};

}  // namespace loopchat
