// The real loopchat-server binary, started on an ephemeral loopback port for
// one test and stopped (SIGKILL if need be) when the object goes away.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/temp_dir.hpp"

namespace loopchat::test {

class ServerProcess {
 public:
  // Starts the server with `--port 0` unless `args` has a --port (then it
  // must be free, or shared with --reuse-port), `--bind 127.0.0.1` unless `args`
  // has a --bind (a loopback address, please), `--data-dir` a fresh
  // temporary folder (removed with this object) unless `args` has a
  // --data-dir or --memory-only, and `args`, and waits
  // for its "listening on" line. Throws if it does not come. Its stderr goes
  // to a file that log() reads, or to `stderr_fd` (then log() is empty).
  explicit ServerProcess(std::vector<std::string> args = {},
                         std::string binary = LOOPCHAT_SERVER_BIN, int stderr_fd = -1);
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  std::uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  std::string url() const;  // ws://127.0.0.1:PORT/ws

  void signal(int sig) const;
  // Waits for the process to exit; its exit status (or -signal), or nullopt on timeout.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);
  // Threads of the process right now (entries of /proc/PID/task).
  int thread_count() const;
  // Resident set size now, from /proc/PID/statm.
  std::uint64_t rss_bytes() const;
  // What the server wrote on stderr so far (its log).
  std::string log() const;
  // The data folder the server was given ("" with --memory-only).
  const std::string& data_dir() const { return data_dir_path_; }

 private:
  std::unique_ptr<TempDir> own_data_dir_;  // when the test gave none
  std::string data_dir_path_;
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
  int stdout_fd_ = -1;
  std::string stderr_path_;
  bool exited_ = false;
};

// Runs a program to its end (bounded by `timeout`, then SIGKILL): its exit
// status and what it printed.
struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};
CommandResult run_command(const std::vector<std::string>& argv,
                          std::chrono::milliseconds timeout = std::chrono::seconds(10));

// A loopback port that was free a moment ago (for servers that need one given).
std::uint16_t free_loopback_port();

// A blocking TCP connection to 127.0.0.1:port; -1 when refused.
int connect_loopback(std::uint16_t port);

// One blocking HTTP/1.0 GET over loopback: status code and body.
struct HttpResult {
  int status = 0;
  std::string headers;
  std::string body;
};
HttpResult http_get(std::uint16_t port, const std::string& target,
                    const std::string& extra_headers = "");

}  // namespace loopchat::test
