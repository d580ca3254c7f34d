#include "tests/cli/cli_process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>

namespace loopchat::test {
namespace {

using Clock = std::chrono::steady_clock;

std::chrono::milliseconds left_until(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() > 0 ? left : std::chrono::milliseconds(0);
}

}  // namespace

CliProcess::CliProcess(std::vector<std::string> args, Mode mode, std::vector<std::string> env,
                       std::string binary)
    : pty_(mode == Mode::pty) {
  std::vector<std::string> argv_strings = {binary};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);

  auto exec_child = [&] {
    for (std::string& entry : env) ::putenv(entry.data());
    ::execv(argv[0], argv.data());
    ::_exit(127);
  };

  if (pty_) {
    winsize size{};
    size.ws_row = 24;
    size.ws_col = 100;
    int master = -1;
    pid_ = ::forkpty(&master, nullptr, nullptr, &size);
    if (pid_ < 0) throw std::runtime_error("forkpty failed");
    if (pid_ == 0) {
      ::setenv("TERM", "xterm", 1);
      exec_child();
    }
    in_fd_ = out_fd_ = master;
    return;
  }
  int in[2], out[2], err[2];
  if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0)
    throw std::runtime_error("pipe failed");
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    ::dup2(in[0], STDIN_FILENO);
    ::dup2(out[1], STDOUT_FILENO);
    ::dup2(err[1], STDERR_FILENO);
    exec_child();
  }
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  in_fd_ = in[1];
  out_fd_ = out[0];
  err_fd_ = err[0];
}

void CliProcess::signal(int sig) const {
  if (pid_ > 0 && !status_) ::kill(pid_, sig);
}

CliProcess::~CliProcess() {
  if (!status_ && pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  if (in_fd_ >= 0 && in_fd_ != out_fd_) ::close(in_fd_);
  if (out_fd_ >= 0) ::close(out_fd_);
  if (err_fd_ >= 0) ::close(err_fd_);
}

void CliProcess::write(std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::write(in_fd_, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw std::runtime_error("cannot write to the CLI");
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

void CliProcess::close_input() {
  if (pty_ || in_fd_ < 0) return;
  ::close(in_fd_);
  in_fd_ = -1;
}

void CliProcess::pump(std::chrono::milliseconds timeout) {
  pollfd fds[2];
  int count = 0;
  if (out_fd_ >= 0) fds[count++] = {out_fd_, POLLIN, 0};
  if (err_fd_ >= 0) fds[count++] = {err_fd_, POLLIN, 0};
  if (count == 0 || ::poll(fds, count, static_cast<int>(timeout.count())) <= 0) return;
  char buffer[4096];
  for (int i = 0; i < count; ++i) {
    if (fds[i].revents == 0) continue;
    ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
    std::string& sink = fds[i].fd == err_fd_ ? err_ : out_;
    if (n > 0) {
      sink.append(buffer, static_cast<std::size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      // EOF (or EIO on a pty whose child is gone): stop watching it.
      ::close(fds[i].fd);
      if (fds[i].fd == err_fd_) err_fd_ = -1;
      if (fds[i].fd == out_fd_) {
        if (in_fd_ == out_fd_) in_fd_ = -1;
        out_fd_ = -1;
      }
    }
  }
}

std::optional<std::size_t> CliProcess::wait_for(std::string_view text,
                                                std::chrono::milliseconds timeout,
                                                std::size_t from) {
  auto deadline = Clock::now() + timeout;
  while (true) {
    if (auto at = out_.find(text, from); at != std::string::npos) return at;
    if (Clock::now() >= deadline || (out_fd_ < 0 && err_fd_ < 0)) return std::nullopt;
    pump(std::min(left_until(deadline), std::chrono::milliseconds(100)));
  }
}

std::optional<int> CliProcess::wait_exit(std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (!status_) {
    int status = 0;
    pid_t done = ::waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      status_ = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
      break;
    }
    if (Clock::now() >= deadline) return std::nullopt;
    if (out_fd_ >= 0 || err_fd_ >= 0)
      pump(std::min(left_until(deadline), std::chrono::milliseconds(20)));
    else
      ::poll(nullptr, 0, 10);  // nothing left to read: only the exit to wait for
  }
  // Whatever is still buffered in the pipes.
  for (int i = 0; i < 50 && (out_fd_ >= 0 || err_fd_ >= 0); ++i)
    pump(std::chrono::milliseconds(100));
  return status_;
}

std::uint16_t unused_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof addr;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length);
  ::close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace loopchat::test
