// --max-connections-per-ip against the real binary over IPv6 sockets. The
// /64 rule itself needs addresses this machine does not have (::1 is one
// address): the unit tests (tests/unit/connections_per_source_test.cpp)
// prove it. Here: IPv4 peers of an IPv6 listener (IPv4-mapped) count per
// IPv4 address, not as one /64; and an IPv6 source is limited.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <vector>

#include "tests/robustness/metrics_probe.hpp"
#include "tests/robustness/raw_ws.hpp"
#include "tests/support/server_process.hpp"

namespace loopchat::test {
namespace {

const char* const kUpgrade =
    "GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

// One upgrade over [::1]:port, kept open while the object lives.
class Ipv6Upgrade {
 public:
  explicit Ipv6Upgrade(std::uint16_t port) {
    fd_ = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in6 addr{};
    addr.sin6_family = AF_INET6;
    addr.sin6_port = htons(port);
    addr.sin6_addr = in6addr_loopback;
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
      throw std::runtime_error("connect to [::1] failed");
    ::send(fd_, kUpgrade, std::strlen(kUpgrade), MSG_NOSIGNAL);
    std::string head;
    while (head.find("\r\n") == std::string::npos) {
      pollfd p{fd_, POLLIN, 0};
      char chunk[512];
      ssize_t n = ::poll(&p, 1, 5000) == 1 ? ::recv(fd_, chunk, sizeof chunk, 0) : -1;
      if (n <= 0) throw std::runtime_error("no answer to the upgrade over [::1]");
      head.append(chunk, static_cast<std::size_t>(n));
    }
    status_ = std::stoi(head.substr(9, 3));
  }
  ~Ipv6Upgrade() { ::close(fd_); }
  int status() const { return status_; }

 private:
  int fd_ = -1;
  int status_ = 0;
};

bool has_ipv6_loopback() {
  int fd = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in6 addr{};
  addr.sin6_family = AF_INET6;
  addr.sin6_addr = in6addr_loopback;
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

TEST(PerSource, IPv4PeersOfAnIPv6ListenerAreCountedPerIPv4Address) {
  // An IPv6 socket bound to ::ffff:127.0.0.1 sees its IPv4 peers as
  // ::ffff:127.0.0.x, all within one /64. Nothing is exempt here.
  ServerProcess server({"--bind", "::ffff:127.0.0.1", "--max-connections-per-ip", "2",
                        "--per-ip-exempt", "192.0.2.0/24"});
  std::vector<std::unique_ptr<RawWsClient>> from_2;
  for (int i = 0; i < 2; ++i) {
    from_2.push_back(std::make_unique<RawWsClient>(server.port(), "127.0.0.2"));
    ASSERT_EQ(from_2.back()->upgrade(), 101) << i;
  }
  RawWsClient third(server.port(), "127.0.0.2");
  EXPECT_EQ(third.upgrade(), 503) << third.response_head();
  RawWsClient other(server.port(), "127.0.0.3");
  EXPECT_EQ(other.upgrade(), 101) << "another IPv4 address, though in the same IPv6 /64";
  EXPECT_EQ(metric(server.port(), limit_hits("connections_per_ip")), 1);
}

TEST(PerSource, AnIPv6SourceIsLimited) {
  if (!has_ipv6_loopback()) GTEST_SKIP() << "no IPv6 loopback on this machine";
  ServerProcess server(
      {"--bind", "::1", "--max-connections-per-ip", "2", "--per-ip-exempt", "192.0.2.0/24"});
  Ipv6Upgrade a(server.port()), b(server.port());
  ASSERT_EQ(a.status(), 101);
  ASSERT_EQ(b.status(), 101);
  Ipv6Upgrade c(server.port());
  EXPECT_EQ(c.status(), 503);
}

}  // namespace
}  // namespace loopchat::test
