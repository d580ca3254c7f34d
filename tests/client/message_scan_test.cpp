#include "client/load/message_scan.hpp"

#include <gtest/gtest.h>

namespace loopchat::load {
namespace {

TEST(MessageScan, FindsStringFieldsInAnyOrder) {
  const std::string a = R"({"type":"message","room":"r","from":"text","text":"hi","seq":1})";
  EXPECT_EQ(json_string_field(a, "type"), "message");
  EXPECT_EQ(json_string_field(a, "text"), "hi");  // not fooled by the value "text"
  const std::string b = R"({"seq":1, "text" : "t=1;s=2;x", "type": "message"})";
  EXPECT_EQ(json_string_field(b, "text"), "t=1;s=2;x");
  EXPECT_EQ(json_string_field(b, "type"), "message");
}

TEST(MessageScan, KeepsEscapesAndRejectsNonStrings) {
  const std::string j = R"({"text":"a\"b\\","n":5})";
  EXPECT_EQ(json_string_field(j, "text"), R"(a\"b\\)");
  EXPECT_EQ(json_string_field(j, "n"), std::nullopt);
  EXPECT_EQ(json_string_field(j, "missing"), std::nullopt);
  EXPECT_EQ(json_string_field(R"({"text":"unterminated)", "text"), std::nullopt);
}

TEST(MessageScan, SayTextRoundTrips) {
  std::string text;
  append_say_text(text, {123456789, 42}, 64);
  EXPECT_EQ(text.size(), 64u);
  EXPECT_EQ(text.substr(0, 17), "t=123456789;s=42;");
  auto m = parse_say_text(text);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->intended_us, 123456789u);
  EXPECT_EQ(m->sender, 42u);

  std::string short_text;
  append_say_text(short_text, {5, 1}, 1);  // the marker never gets cut
  EXPECT_EQ(short_text, "t=5;s=1;");
}

TEST(MessageScan, RejectsForeignTexts) {
  EXPECT_FALSE(parse_say_text("hello"));
  EXPECT_FALSE(parse_say_text("t=;s=1;"));
  EXPECT_FALSE(parse_say_text("t=12;s=1"));
  EXPECT_FALSE(parse_say_text("t=12;x=1;"));
}

}  // namespace
}  // namespace loopchat::load
