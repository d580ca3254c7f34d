// The terminal's state around a run: raw mode for the line editor, and the
// file status flags of stdin/stdout (Asio makes the shared file description
// non-blocking). Both are put back on every way out: return, exception,
// exit() and std::terminate.
#pragma once

#include <cstddef>

namespace loopchat::cli {

bool is_terminal(int fd);
// Columns of the terminal on fd, 80 when unknown.
std::size_t terminal_columns(int fd);

class TerminalGuard {
 public:
  // Saves stdin's and stdout's flags, and with `raw` puts the stdin terminal
  // in raw mode: no echo, no line buffering, no signals from keys (Ctrl-C is
  // read as a byte), output processing kept ('\n' still moves to column 0).
  explicit TerminalGuard(bool raw);
  ~TerminalGuard();
  TerminalGuard(const TerminalGuard&) = delete;
  TerminalGuard& operator=(const TerminalGuard&) = delete;
};

// Puts back what the TerminalGuard changed; safe to call more than once.
void restore_terminal();

}  // namespace loopchat::cli
