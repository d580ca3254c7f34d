#include "tests/robustness/raw_ws.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>
#include <stdexcept>

namespace loopchat::test {
namespace {

std::uint32_t random_mask() {
  static std::mt19937 rng(12345);
  return rng();
}

int remaining_ms(RawWsClient::Clock::time_point deadline) {
  auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - RawWsClient::Clock::now());
  return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

}  // namespace

std::uint16_t RawFrame::close_code() const {
  if (payload.size() < 2) return 1005;
  return static_cast<std::uint16_t>((std::uint8_t(payload[0]) << 8) | std::uint8_t(payload[1]));
}

std::string RawFrame::close_reason() const {
  return payload.size() > 2 ? payload.substr(2) : std::string();
}

std::string make_frame(std::uint8_t opcode, std::string_view payload, bool fin, bool mask,
                       std::uint8_t rsv) {
  std::string out;
  out += static_cast<char>((fin ? 0x80 : 0) | ((rsv & 7) << 4) | (opcode & 0x0F));
  const std::uint8_t mask_bit = mask ? 0x80 : 0;
  if (payload.size() < 126) {
    out += static_cast<char>(mask_bit | payload.size());
  } else if (payload.size() <= 0xFFFF) {
    out += static_cast<char>(mask_bit | 126);
    out += static_cast<char>(payload.size() >> 8);
    out += static_cast<char>(payload.size() & 0xFF);
  } else {
    out += static_cast<char>(mask_bit | 127);
    for (int shift = 56; shift >= 0; shift -= 8)
      out += static_cast<char>((std::uint64_t(payload.size()) >> shift) & 0xFF);
  }
  if (!mask) return out.append(payload);
  std::uint32_t key = random_mask();
  char k[4];
  std::memcpy(k, &key, 4);
  out.append(k, 4);
  for (std::size_t i = 0; i < payload.size(); ++i) out += static_cast<char>(payload[i] ^ k[i % 4]);
  return out;
}

std::string close_frame(std::uint16_t code, std::string_view reason) {
  std::string payload;
  payload += static_cast<char>(code >> 8);
  payload += static_cast<char>(code & 0xFF);
  payload.append(reason);
  return make_frame(0x8, payload);
}

RawWsClient::RawWsClient(std::uint16_t port, const std::string& source, int receive_buffer_bytes) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  if (receive_buffer_bytes > 0)
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer_bytes, sizeof receive_buffer_bytes);
  if (!source.empty()) {
    sockaddr_in local{};
    local.sin_family = AF_INET;
    ::inet_pton(AF_INET, source.c_str(), &local.sin_addr);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0)
      throw std::runtime_error(std::string("bind: ") + std::strerror(errno));
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    throw std::runtime_error(std::string("connect: ") + std::strerror(errno));
}

RawWsClient::~RawWsClient() {
  if (fd_ >= 0) ::close(fd_);
}

void RawWsClient::send(std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::runtime_error(std::string("send: ") + std::strerror(errno));
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

bool RawWsClient::fill(Clock::time_point deadline) {
  for (;;) {
    pollfd p{fd_, POLLIN, 0};
    int ready = ::poll(&p, 1, remaining_ms(deadline));
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) throw std::runtime_error("timed out waiting for the server");
    char chunk[16384];
    ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    buffer_.append(chunk, static_cast<std::size_t>(n));
    return true;
  }
}

int RawWsClient::upgrade(std::chrono::milliseconds timeout) {
  send(
      "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
  int status = upgrade_answer(timeout);
  if (status == 0) throw std::runtime_error("connection ended during the upgrade");
  return status;
}

int RawWsClient::upgrade_answer(std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  std::size_t end;
  while ((end = buffer_.find("\r\n\r\n")) == std::string::npos)
    if (!fill(deadline)) return 0;
  head_ = buffer_.substr(0, end);
  buffer_.erase(0, end + 4);
  if (head_.compare(0, 9, "HTTP/1.1 ") != 0 || head_.size() < 12)
    throw std::runtime_error("not an HTTP answer: " + head_);
  return std::stoi(head_.substr(9, 3));
}

std::optional<RawFrame> RawWsClient::read_frame(std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  auto need = [&](std::size_t bytes) {
    while (buffer_.size() < bytes)
      if (!fill(deadline)) return false;
    return true;
  };
  if (!need(2)) return std::nullopt;
  RawFrame frame;
  auto b0 = std::uint8_t(buffer_[0]), b1 = std::uint8_t(buffer_[1]);
  frame.fin = (b0 & 0x80) != 0;
  frame.rsv = (b0 >> 4) & 7;
  frame.opcode = b0 & 0x0F;
  frame.masked = (b1 & 0x80) != 0;
  std::uint64_t length = b1 & 0x7F;
  std::size_t header = 2;
  if (length == 126) {
    if (!need(4)) return std::nullopt;
    length = (std::uint8_t(buffer_[2]) << 8) | std::uint8_t(buffer_[3]);
    header = 4;
  } else if (length == 127) {
    if (!need(10)) return std::nullopt;
    length = 0;
    for (int i = 2; i < 10; ++i) length = (length << 8) | std::uint8_t(buffer_[i]);
    header = 10;
  }
  if (frame.masked) throw std::runtime_error("the server sent a masked frame");
  if (length > (64u << 20)) throw std::runtime_error("absurd frame length from the server");
  if (!need(header + length)) return std::nullopt;
  frame.payload = buffer_.substr(header, length);
  buffer_.erase(0, header + length);
  return frame;
}

std::optional<RawFrame> RawWsClient::read_until_close(std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    auto frame = read_frame(std::chrono::milliseconds(remaining_ms(deadline)));
    if (!frame || frame->opcode == 0x8) return frame;
  }
}

bool RawWsClient::ended(std::chrono::milliseconds timeout) {
  if (!buffer_.empty()) return false;
  try {
    return !fill(Clock::now() + timeout) && buffer_.empty();
  } catch (const std::runtime_error&) {
    return false;  // still open at the deadline
  }
}

void RawWsClient::reset() {
  linger l{1, 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  ::close(fd_);
  fd_ = -1;
}

}  // namespace loopchat::test
