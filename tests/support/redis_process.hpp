// A real redis-server (Debian's `redis-server`) on a free loopback port for
// one test, without persistence, stopped when the object goes away. A test
// that needs it fails, not skips, when redis-server is missing.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace loopchat::test {

class RedisProcess {
 public:
  // Starts redis-server on `port` (0: a free one) and waits until it answers PING.
  explicit RedisProcess(std::uint16_t port = 0);
  ~RedisProcess();
  RedisProcess(const RedisProcess&) = delete;
  RedisProcess& operator=(const RedisProcess&) = delete;

  std::uint16_t port() const { return port_; }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }
  // Sends one command (RESP) and returns the raw reply.
  std::string command(const std::vector<std::string>& args) const;
  // Kills it (SIGKILL) and waits for it.
  void kill();

 private:
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
};

}  // namespace loopchat::test
