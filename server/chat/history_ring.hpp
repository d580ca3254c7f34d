// A fixed-capacity ring of the most recent items: pushing into a full ring
// drops the oldest, and the oldest can be dropped early (the server-wide
// history budget trims rooms). Memory is bounded by the capacity, whatever the
// traffic; the storage grows by doubling up to it, so a quiet room holds
// little.
#pragma once

#include <algorithm>
#include <cstddef>
#include <utility>
#include <vector>

namespace loopchat {

template <typename T>
class HistoryRing {
 public:
  explicit HistoryRing(std::size_t capacity) : capacity_(capacity) {}

  void push(T item) {
    if (capacity_ == 0) return;
    if (size_ == capacity_) pop_front();
    if (size_ == slots_.size()) grow();
    slots_[(head_ + size_) % slots_.size()] = std::move(item);
    ++size_;
  }

  // Drops the oldest item (the ring must not be empty) and releases it.
  void pop_front() {
    slots_[head_] = T{};
    head_ = (head_ + 1) % slots_.size();
    if (--size_ == 0) clear();
  }
  void clear() {
    slots_ = {};
    head_ = size_ = 0;
  }

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  std::size_t capacity() const { return capacity_; }
  // Items by age: [0] is the oldest, [size() - 1] the newest.
  const T& operator[](std::size_t index) const { return slots_[(head_ + index) % slots_.size()]; }
  const T& front() const { return (*this)[0]; }

  // The most recent `count` items, oldest first.
  template <typename Visit>
  void for_each_recent(std::size_t count, Visit visit) const {
    for (std::size_t i = size_ - std::min(count, size_); i < size_; ++i) visit((*this)[i]);
  }

 private:
  void grow() {
    std::vector<T> bigger(std::min(capacity_, std::max<std::size_t>(4, 2 * slots_.size())));
    for (std::size_t i = 0; i < size_; ++i)
      bigger[i] = std::move(slots_[(head_ + i) % slots_.size()]);
    slots_ = std::move(bigger);
    head_ = 0;
  }

  std::size_t capacity_;
  std::vector<T> slots_;  // the storage: size_ items from head_, wrapping
  std::size_t head_ = 0;  // index of the oldest item
  std::size_t size_ = 0;
};

}  // namespace loopchat
