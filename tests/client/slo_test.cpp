#include "client/load/slo.hpp"

#include <gtest/gtest.h>

namespace loopchat::load {
namespace {

std::vector<SloCondition> parse_ok(std::string_view spec) {
  auto result = parse_slo(spec);
  EXPECT_TRUE(std::holds_alternative<std::vector<SloCondition>>(result)) << spec;
  return std::get<std::vector<SloCondition>>(result);
}

TEST(Slo, ParsesUnitsAndOperators) {
  auto c = parse_ok("p99<50ms, loss=0, probe_p99<=500us, max<2s, loss_pct<0.1%");
  ASSERT_EQ(c.size(), 5u);
  EXPECT_EQ(c[0].metric, "p99");
  EXPECT_EQ(c[0].op, "<");
  EXPECT_DOUBLE_EQ(c[0].value, 50);
  EXPECT_EQ(c[1].op, "=");
  EXPECT_EQ(c[2].op, "<=");
  EXPECT_DOUBLE_EQ(c[2].value, 0.5);
  EXPECT_DOUBLE_EQ(c[3].value, 2000);
  EXPECT_DOUBLE_EQ(c[4].value, 0.1);
}

TEST(Slo, RejectsBadSpecs) {
  for (const char* bad : {"", "p99", "p42<5ms", "p99<fast", "loss=1%", "p99<5ms,rate>"}) {
    EXPECT_TRUE(std::holds_alternative<std::string>(parse_slo(bad))) << bad;
  }
}

TEST(Slo, ChecksMeasuredValues) {
  auto c = parse_ok("p99<50ms,loss=0");
  EXPECT_TRUE(check_slo(c, {{"p99", 12.0}, {"loss", 0}}).empty());
  auto violations = check_slo(c, {{"p99", 80.0}, {"loss", 3}});
  ASSERT_EQ(violations.size(), 2u);
  EXPECT_NE(violations[0].find("p99<50ms"), std::string::npos);
  EXPECT_EQ(check_slo(c, {{"loss", 0}}).size(), 1u);  // p99 not measured: violated
}

}  // namespace
}  // namespace loopchat::load
