#include "common/histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace loopchat {

namespace {
constexpr unsigned kSubBits = 7;  // 128 sub-buckets per power of two
constexpr uint64_t kSubCount = uint64_t{1} << kSubBits;
constexpr uint64_t kLinearLimit = kSubCount * 2;  // values below are their own bucket
constexpr size_t kBucketCount = kLinearLimit + (40 - kSubBits - 1) * kSubCount;
}  // namespace

Histogram::Histogram() : counts_(kBucketCount, 0) {}

size_t Histogram::index_of(uint64_t value) {
  if (value < kLinearLimit) return static_cast<size_t>(value);
  const unsigned exponent = 63 - static_cast<unsigned>(std::countl_zero(value));
  const unsigned shift = exponent - kSubBits;
  const uint64_t top = value >> shift;  // in [kSubCount, 2 * kSubCount)
  return static_cast<size_t>(kLinearLimit + (shift - 1) * kSubCount + (top - kSubCount));
}

uint64_t Histogram::bucket_low(size_t index) {
  if (index < kLinearLimit) return index;
  const uint64_t k = index - kLinearLimit;
  const unsigned shift = static_cast<unsigned>(k / kSubCount) + 1;
  return (kSubCount + k % kSubCount) << shift;
}

uint64_t Histogram::bucket_width(size_t index) {
  if (index < kLinearLimit) return 1;
  return uint64_t{1} << ((index - kLinearLimit) / kSubCount + 1);
}

uint64_t Histogram::percentile(double percent) const {
  if (count_ == 0) return 0;
  if (percent >= 100.0) return max_;
  const double wanted = std::ceil(std::max(percent, 0.0) / 100.0 * static_cast<double>(count_));
  const uint64_t rank = std::max<uint64_t>(1, static_cast<uint64_t>(wanted));
  uint64_t seen = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      const uint64_t mid = bucket_low(i) + bucket_width(i) / 2;
      return std::clamp(mid, min_, max_);
    }
  }
  return max_;
}

void Histogram::merge(const Histogram& other) {
  for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  sum_ += other.sum_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
}

void Histogram::reset() {
  std::fill(counts_.begin(), counts_.end(), 0);
  count_ = sum_ = max_ = 0;
  min_ = UINT64_MAX;
}

}  // namespace loopchat
