// A regression guard for the memory an idle connection costs (issue 10):
// the server's own RSS report (/metrics) with many idle connections open,
// against a bound. The benchmark (tools/bench --only idle) measures the
// figure; this only fails when it grows far past it. Plain build only:
// ASan's redzones and quarantine make RSS meaningless (tools/test).
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "tests/robustness/metrics_probe.hpp"
#include "tests/robustness/raw_ws.hpp"
#include "tests/support/server_process.hpp"

namespace loopchat::test {
namespace {

constexpr int kWarmup = 500, kMeasured = 4000;
constexpr double kBoundBytesPerConnection = 3072;  // the target is 2 KiB; measured ~1.1 KiB

std::vector<std::unique_ptr<RawWsClient>> open_idle(std::uint16_t port, int count) {
  std::vector<std::unique_ptr<RawWsClient>> clients;
  for (int i = 0; i < count; ++i) {
    clients.push_back(std::make_unique<RawWsClient>(port));
    EXPECT_EQ(clients.back()->upgrade(), 101);
  }
  return clients;
}

TEST(Memory, AnIdleConnectionCostsUnderThreeKiB) {
  ServerProcess server({"--quiet"});
  auto warm = open_idle(server.port(), kWarmup);  // the allocator's first arenas and caches
  auto rss = [&] { return metric(server.port(), "loopchat_process_resident_memory_bytes"); };
  auto before = rss();
  ASSERT_TRUE(before.has_value());
  auto idle = open_idle(server.port(), kMeasured);
  ASSERT_TRUE(eventually(
      [&] { return metric(server.port(), "loopchat_connections") == kWarmup + kMeasured; }));
  auto after = rss();
  ASSERT_TRUE(after.has_value());
  double per_connection = (*after - *before) / kMeasured;
  RecordProperty("bytes_per_idle_connection", std::to_string(per_connection));
  EXPECT_LT(per_connection, kBoundBytesPerConnection);
}

}  // namespace
}  // namespace loopchat::test
