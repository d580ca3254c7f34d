// The outbound queue: byte accounting, gathering, partial writes, dropping.
#include "server/transport/frame_queue.hpp"

#include <gtest/gtest.h>

#include <string>

namespace loopchat {
namespace {

std::string joined(const std::vector<asio::const_buffer>& buffers) {
  std::string out;
  for (const auto& b : buffers) out.append(static_cast<const char*>(b.data()), b.size());
  return out;
}

TEST(FrameQueue, GathersEveryFrameOnceAndCountsBytes) {
  FrameQueue queue;
  EXPECT_TRUE(queue.empty());
  queue.push(Frame::raw("abc"));
  queue.push(Frame::raw("de"));
  queue.push(Frame::raw("fghi"));
  EXPECT_EQ(queue.bytes(), 9u);
  std::vector<asio::const_buffer> out;
  EXPECT_EQ(queue.gather(out, 64), 9u);
  EXPECT_EQ(joined(out), "abcdefghi");
  out.clear();
  EXPECT_EQ(queue.gather(out, 2), 5u);  // at most `max` buffers
  EXPECT_EQ(joined(out), "abcde");
}

TEST(FrameQueue, PartialWritesResumeMidFrame) {
  FrameQueue queue;
  queue.push(Frame::raw("abc"));
  queue.push(Frame::raw("defg"));
  queue.consume(2);
  EXPECT_EQ(queue.bytes(), 5u);
  std::vector<asio::const_buffer> out;
  queue.gather(out, 64);
  EXPECT_EQ(joined(out), "cdefg");
  queue.consume(3);  // the rest of "abc" and "de"
  out.clear();
  queue.gather(out, 64);
  EXPECT_EQ(joined(out), "fg");
  queue.consume(2);
  EXPECT_TRUE(queue.empty());
  EXPECT_EQ(queue.bytes(), 0u);
}

TEST(FrameQueue, DroppingKeepsAStartedFrameWhole) {
  FrameQueue queue;
  queue.push(Frame::raw("abcd"));
  queue.push(Frame::raw("ef"));
  queue.push(Frame::raw("gh"));
  queue.consume(1);
  queue.drop_unstarted();
  EXPECT_EQ(queue.bytes(), 3u);
  std::vector<asio::const_buffer> out;
  queue.gather(out, 64);
  EXPECT_EQ(joined(out), "bcd");  // the peer never sees half a frame

  FrameQueue untouched;
  untouched.push(Frame::raw("ab"));
  untouched.drop_unstarted();
  EXPECT_TRUE(untouched.empty());
  EXPECT_EQ(untouched.bytes(), 0u);
}

TEST(FrameQueue, SharedFramesAreNotCopied) {
  FramePtr frame = Frame::text("{\"type\":\"message\"}");
  FrameQueue a, b;
  a.push(frame);
  b.push(frame);
  std::vector<asio::const_buffer> from_a, from_b;
  a.gather(from_a, 64);
  b.gather(from_b, 64);
  EXPECT_EQ(from_a[0].data(), from_b[0].data());
  EXPECT_EQ(frame.use_count(), 3);
  a.clear();
  EXPECT_EQ(frame.use_count(), 2);
}

}  // namespace
}  // namespace loopchat
