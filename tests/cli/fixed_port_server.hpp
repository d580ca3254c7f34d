// The real server on a port chosen by the test (ServerProcess always passes
// `--port 0`, and the server refuses a repeated --port): lets a test restart
// the server where its clients will look for it again.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace loopchat::test {

class FixedPortServer {
 public:
  // Starts loopchat-server on 127.0.0.1:port with its history in `data_dir`
  // and waits for its "listening" line.
  FixedPortServer(std::uint16_t port, const std::string& data_dir,
                  const char* binary = LOOPCHAT_SERVER_BIN);
  ~FixedPortServer();
  FixedPortServer(const FixedPortServer&) = delete;
  FixedPortServer& operator=(const FixedPortServer&) = delete;

  std::uint16_t port() const { return port_; }

 private:
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::uint16_t port_;
};

}  // namespace loopchat::test
