#include "server/fetch/html_title.hpp"

#include <gtest/gtest.h>

namespace loopchat {
namespace {

std::size_t code_points(const std::string& text) {
  std::size_t count = 0;
  for (unsigned char c : text) count += (c & 0xC0) != 0x80;
  return count;
}

TEST(HtmlTitle, FindsTheFirstTitle) {
  EXPECT_EQ(extract_title("<html><head><title>Hello</title></head></html>"), "Hello");
  EXPECT_EQ(extract_title("<title>One</title><title>Two</title>"), "One");
}

TEST(HtmlTitle, TagIsCaseInsensitiveAndMayHaveAttributes) {
  EXPECT_EQ(extract_title("<TITLE>Upper</TITLE>"), "Upper");
  EXPECT_EQ(extract_title("<TiTlE lang=\"en\" data-x='a>b'>Mixed</tItLe>"), "Mixed");
  EXPECT_EQ(extract_title("<title\n>Newline</title >"), "Newline");
}

TEST(HtmlTitle, IgnoresLookalikeTagsAndComments) {
  EXPECT_EQ(extract_title("<titles>no</titles><title>yes</title>"), "yes");
  EXPECT_EQ(extract_title("<!-- <title>commented</title> --><title>real</title>"), "real");
}

TEST(HtmlTitle, DecodesEntities) {
  EXPECT_EQ(extract_title("<title>Tom &amp; Jerry &lt;3 &gt; &quot;x&quot; &apos;y&apos;</title>"),
            "Tom & Jerry <3 > \"x\" 'y'");
  EXPECT_EQ(extract_title("<title>&#65;&#x42;&#X43;&#233;&#x263A;&#x1F600;</title>"),
            "ABC\u00e9\u263a\U0001F600");
  EXPECT_EQ(extract_title("<title>a&nbsp;b</title>"), "a\u00a0b");
  EXPECT_EQ(extract_title("<title>&#0;&#xD800;&#x110000;</title>"), "\ufffd\ufffd\ufffd");
  EXPECT_EQ(extract_title("<title>&unknown; &amp &# &#x;</title>"), "&unknown; &amp &# &#x;");
}

TEST(HtmlTitle, FoldsWhitespace) {
  EXPECT_EQ(extract_title("<title>\n\t  Lots \r\n of \f  space  \n</title>"), "Lots of space");
  EXPECT_EQ(extract_title("<title> &#32; a &#10; b </title>"), "a b");
}

TEST(HtmlTitle, NoneWhenMissingOrEmpty) {
  EXPECT_EQ(extract_title(""), std::nullopt);
  EXPECT_EQ(extract_title("<html><body>no title</body></html>"), std::nullopt);
  EXPECT_EQ(extract_title("<title></title>"), std::nullopt);
  EXPECT_EQ(extract_title("<title>  \n\t </title>"), std::nullopt);
  EXPECT_EQ(extract_title("<title"), std::nullopt);
}

TEST(HtmlTitle, UnclosedTitleRunsToTheEnd) {
  EXPECT_EQ(extract_title("<title>cut off at 64 KiB"), "cut off at 64 KiB");
}

TEST(HtmlTitle, TruncatesAt200CodePoints) {
  const std::string ascii(500, 'a');
  auto title = extract_title("<title>" + ascii + "</title>");
  ASSERT_TRUE(title);
  EXPECT_EQ(*title, std::string(200, 'a'));

  std::string accents;
  for (int i = 0; i < 300; ++i) accents += "\u00e9";  // two bytes each
  title = extract_title("<title>" + accents + "</title>");
  ASSERT_TRUE(title);
  EXPECT_EQ(code_points(*title), 200u);
  EXPECT_EQ(title->size(), 400u);

  std::string emoji;
  for (int i = 0; i < 250; ++i) emoji += "&#x1F600;";
  title = extract_title("<title>" + emoji + "</title>");
  ASSERT_TRUE(title);
  EXPECT_EQ(code_points(*title), 200u);
  EXPECT_EQ(title->size(), 800u);

  // No trailing space left where the cut falls after a word.
  std::string words;
  for (int i = 0; i < 100; ++i) words += "abcd ";
  title = extract_title("<title>" + words + "</title>");
  ASSERT_TRUE(title);
  EXPECT_LE(code_points(*title), 200u);
  EXPECT_NE(title->back(), ' ');
}

TEST(HtmlTitle, ReplacesInvalidUtf8) {
  EXPECT_EQ(extract_title("<title>a\xff"
                          "b</title>"),
            "a\ufffdb");
  EXPECT_EQ(extract_title("<title>\xc3(</title>"), "\ufffd(");
  EXPECT_EQ(extract_title("<title>\xe2\x82</title>"), "\ufffd\ufffd");
  EXPECT_EQ(extract_title("<title>\xc0\xaf</title>"), "\ufffd\ufffd");            // overlong
  EXPECT_EQ(extract_title("<title>\xed\xa0\x80</title>"), "\ufffd\ufffd\ufffd");  // surrogate
  EXPECT_EQ(extract_title("<title>caf\xc3\xa9</title>"), "caf\u00e9");
}

TEST(HtmlTitle, ContentTypes) {
  EXPECT_TRUE(is_html_content_type("text/html"));
  EXPECT_TRUE(is_html_content_type("text/html; charset=utf-8"));
  EXPECT_TRUE(is_html_content_type(" TEXT/HTML ;charset=UTF-8"));
  EXPECT_TRUE(is_html_content_type("application/xhtml+xml"));
  EXPECT_FALSE(is_html_content_type("text/plain"));
  EXPECT_FALSE(is_html_content_type("text/htmlx"));
  EXPECT_FALSE(is_html_content_type(""));
  EXPECT_FALSE(is_html_content_type("application/json"));
}

}  // namespace
}  // namespace loopchat
