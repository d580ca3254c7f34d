// The `loopchat` binary run by a test, either with pipes on stdin, stdout
// and stderr (scripted mode) or on a pseudo-terminal (interactive mode).
// Every wait is bounded and ends as soon as its condition holds.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace loopchat::test {

class CliProcess {
 public:
  enum class Mode { pipes, pty };
  // `env` entries ("NAME=value") are added to the child's environment.
  CliProcess(std::vector<std::string> args, Mode mode, std::vector<std::string> env = {},
             std::string binary = LOOPCHAT_CLI_BIN);
  ~CliProcess();
  CliProcess(const CliProcess&) = delete;
  CliProcess& operator=(const CliProcess&) = delete;

  void write(std::string_view bytes);  // to stdin, or typed on the terminal
  void close_input();                  // EOF on stdin (pipes only)
  void signal(int sig) const;          // e.g. SIGSTOP: the process stops reading, as if hung

  // Reads until `text` appears in the output at or after `from`, or the
  // timeout passes. Returns its position.
  std::optional<std::size_t> wait_for(std::string_view text,
                                      std::chrono::milliseconds timeout = std::chrono::seconds(10),
                                      std::size_t from = 0);
  // Exit status (or -signal), reading output meanwhile; nullopt on timeout.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout = std::chrono::seconds(10));

  const std::string& out() const { return out_; }  // stdout, or everything on the terminal
  const std::string& err() const { return err_; }  // stderr (pipes only)

 private:
  void pump(std::chrono::milliseconds timeout);

  pid_t pid_ = -1;
  int in_fd_ = -1, out_fd_ = -1, err_fd_ = -1;  // with a pty, in_fd_ == out_fd_ (the master)
  bool pty_ = false;
  std::string out_, err_;
  std::optional<int> status_;
};

// A TCP port on 127.0.0.1 that nothing listens on (bound, then released).
std::uint16_t unused_port();

}  // namespace loopchat::test
