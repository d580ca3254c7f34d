#include "client/cli/terminal.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <cstdlib>
#include <exception>

namespace loopchat::cli {
namespace {

// Process-wide on purpose: exit() and std::terminate must find them.
struct Saved {
  bool termios_saved = false;
  termios original{};
  int stdin_flags = -1;
  int stdout_flags = -1;
  bool hooks_installed = false;
} saved;

std::terminate_handler previous_terminate = nullptr;

void restore_then_terminate() {
  restore_terminal();
  if (previous_terminate != nullptr) previous_terminate();
  std::abort();
}

}  // namespace

bool is_terminal(int fd) {
  return ::isatty(fd) == 1;
}

std::size_t terminal_columns(int fd) {
  winsize size{};
  if (::ioctl(fd, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) return size.ws_col;
  return 80;
}

TerminalGuard::TerminalGuard(bool raw) {
  saved.stdin_flags = ::fcntl(STDIN_FILENO, F_GETFL);
  saved.stdout_flags = ::fcntl(STDOUT_FILENO, F_GETFL);
  if (!saved.hooks_installed) {
    saved.hooks_installed = true;
    std::atexit(restore_terminal);
    previous_terminate = std::set_terminate(restore_then_terminate);
  }
  if (raw && ::tcgetattr(STDIN_FILENO, &saved.original) == 0) {
    saved.termios_saved = true;
    termios t = saved.original;
    t.c_lflag &= ~static_cast<tcflag_t>(ECHO | ICANON | ISIG | IEXTEN);
    t.c_iflag &= ~static_cast<tcflag_t>(IXON | ICRNL | INLCR | IGNCR | ISTRIP);
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    ::tcsetattr(STDIN_FILENO, TCSANOW, &t);
  }
}

TerminalGuard::~TerminalGuard() {
  restore_terminal();
}

void restore_terminal() {
  if (saved.termios_saved) {
    ::tcsetattr(STDIN_FILENO, TCSADRAIN, &saved.original);
    saved.termios_saved = false;
  }
  if (saved.stdin_flags >= 0) ::fcntl(STDIN_FILENO, F_SETFL, saved.stdin_flags);
  if (saved.stdout_flags >= 0) ::fcntl(STDOUT_FILENO, F_SETFL, saved.stdout_flags);
}

}  // namespace loopchat::cli
