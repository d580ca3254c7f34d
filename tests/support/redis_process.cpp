#include "tests/support/redis_process.hpp"

#include "tests/support/server_process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>

namespace loopchat::test {
namespace {

// One request, one reply read until it is complete enough to return (a
// line, or what arrives within the timeout for multi-line replies).
std::string round_trip(std::uint16_t port, const std::string& request) {
  int fd = connect_loopback(port);
  if (fd < 0) return "";
  ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string reply;
  char buf[4096];
  pollfd p{fd, POLLIN, 0};
  while (::poll(&p, 1, reply.empty() ? 2000 : 50) > 0) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    reply.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return reply;
}

}  // namespace

RedisProcess::RedisProcess(std::uint16_t port) : port_(port == 0 ? free_loopback_port() : port) {
  std::string port_text = std::to_string(port_);
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    int null = ::open("/dev/null", O_WRONLY);  // its banner and warnings are not the test's
    ::dup2(null, STDOUT_FILENO);
    ::execlp("redis-server", "redis-server", "--port", port_text.c_str(), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--loglevel", "warning", "--enable-debug-command",
             "local",  // DEBUG SLEEP: a slow Redis on demand
             static_cast<char*>(nullptr));
    ::_exit(127);
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (round_trip(port_, "PING\r\n").rfind("+PONG", 0) != 0) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error(
          "redis-server did not start (is it installed? tools/setup --test installs it)");
    }
    if (std::chrono::steady_clock::now() > deadline)
      throw std::runtime_error("redis-server did not answer PING in 10 s");
    pollfd none{-1, 0, 0};
    ::poll(&none, 0, 20);  // between connection attempts to a server still starting
  }
}

RedisProcess::~RedisProcess() {
  kill();
}

void RedisProcess::kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

std::string RedisProcess::command(const std::vector<std::string>& args) const {
  std::string request = "*" + std::to_string(args.size()) + "\r\n";
  for (const std::string& a : args) request += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
  return round_trip(port_, request);
}

}  // namespace loopchat::test
