#include "common/histogram.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace loopchat::load {
namespace {

TEST(Histogram, EmptyReportsZero) {
  Histogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.percentile(50), 0u);
  EXPECT_EQ(h.max(), 0u);
  EXPECT_EQ(h.min(), 0u);
}

TEST(Histogram, SmallValuesAreExact) {
  Histogram h;
  for (uint64_t v = 0; v < 256; ++v) EXPECT_EQ(Histogram::bucket_low(Histogram::index_of(v)), v);
  h.record(7);
  EXPECT_EQ(h.percentile(50), 7u);
}

TEST(Histogram, BucketsTileTheRangeWithinOnePercent) {
  // Every bucket starts where the previous ended, and no bucket is wider
  // than 1/128 of its lower bound: the midpoint is within 0.4%.
  for (size_t i = 1; Histogram::bucket_low(i) <= Histogram::kMaxValue; ++i) {
    ASSERT_EQ(Histogram::bucket_low(i),
              Histogram::bucket_low(i - 1) + Histogram::bucket_width(i - 1))
        << i;
    if (Histogram::bucket_low(i) >= 256) {
      ASSERT_LE(Histogram::bucket_width(i) * 128, Histogram::bucket_low(i)) << i;
    }
    if (Histogram::bucket_low(i) + Histogram::bucket_width(i) > Histogram::kMaxValue) break;
  }
  Histogram h;
  h.record(Histogram::kMaxValue * 4);  // clamped
  EXPECT_EQ(h.max(), Histogram::kMaxValue);
}

TEST(Histogram, PercentilesOfAUniformSpreadAreWithinOnePercent) {
  Histogram h;
  for (uint64_t v = 1; v <= 100'000; ++v) h.record(v * 10);  // 10 µs .. 1 s
  EXPECT_EQ(h.count(), 100'000u);
  for (double p : {1.0, 10.0, 50.0, 90.0, 99.0, 99.9}) {
    const double exact = p / 100.0 * 100'000 * 10;
    const double got = static_cast<double>(h.percentile(p));
    EXPECT_NEAR(got, exact, exact * 0.01) << "p" << p;
  }
  EXPECT_EQ(h.percentile(100), 1'000'000u);
  EXPECT_EQ(h.min(), 10u);
  EXPECT_NEAR(h.mean(), 500'005.0, 1.0);
}

TEST(Histogram, EveryValueComesBackWithinOnePercent) {
  for (uint64_t v :
       {1ull, 300ull, 1'234ull, 99'999ull, 5'000'000ull, 60'000'000ull, 3'600'000'000ull}) {
    Histogram h;
    h.record(v);
    h.record(v);
    const double got = static_cast<double>(h.percentile(50));
    EXPECT_NEAR(got, static_cast<double>(v), static_cast<double>(v) * 0.01) << v;
  }
}

TEST(Histogram, MergeAndReset) {
  Histogram a, b;
  for (int i = 0; i < 100; ++i) a.record(1000);
  for (int i = 0; i < 100; ++i) b.record(3000);
  a.merge(b);
  EXPECT_EQ(a.count(), 200u);
  EXPECT_NEAR(static_cast<double>(a.percentile(25)), 1000, 10);
  EXPECT_NEAR(static_cast<double>(a.percentile(75)), 3000, 30);
  EXPECT_EQ(a.max(), 3000u);
  a.reset();
  EXPECT_EQ(a.count(), 0u);
  EXPECT_EQ(a.percentile(99), 0u);
}

}  // namespace
}  // namespace loopchat::load
