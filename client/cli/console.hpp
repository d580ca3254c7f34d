// The terminal side of the one event loop: standard input read through an
// Asio stream descriptor (a dup of fd 0), and output that never mangles the
// line being typed. Interactive (a terminal on stdin and stdout): raw keys go
// to the LineEditor, and every printed line first erases the prompt row, then
// redraws it with the partial line and the cursor where they were.
// Scripted: stdin is split into lines, chat output goes to stdout and status
// lines to stderr.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/posix/stream_descriptor.hpp>

#include <functional>
#include <string>
#include <string_view>

#include "client/cli/line_editor.hpp"

namespace loopchat::cli {

class Console {
 public:
  Console(asio::any_io_executor executor, bool interactive);
  bool interactive() const { return interactive_; }

  // Chat output (may hold several lines), above the prompt.
  void print(std::string_view text);
  // Connection state and diagnostics: like print on a terminal, else stderr.
  void status(std::string_view text);

  void set_prompt(std::string prompt, std::size_t columns);
  void resized();
  // Removes the prompt row for good (at exit).
  void clear_prompt();

  enum class InputEnd { eof, quit, cancelled, error };
  using LineHandler = std::function<asio::awaitable<void>(std::string line)>;
  // Reads standard input until it ends, awaiting on_line for each line, in order.
  asio::awaitable<InputEnd> read_lines(LineHandler on_line);
  void cancel_input();

 private:
  void write_out(std::string_view bytes);
  void redraw();
  asio::awaitable<InputEnd> read_stream(LineHandler& on_line);
  asio::awaitable<InputEnd> read_file(LineHandler& on_line);
  asio::awaitable<bool> deliver(std::string_view chunk, LineHandler& on_line);

  asio::any_io_executor executor_;
  bool interactive_;
  asio::posix::stream_descriptor input_;
  int file_fd_ = -1;  // when stdin is a file or /dev/null, which epoll cannot watch
  bool cancelled_ = false;
  LineEditor editor_;
  std::string prompt_;
  std::size_t prompt_columns_ = 0;
  std::size_t width_ = 80;
  bool prompt_shown_ = false;
  std::string partial_;  // scripted: bytes after the last newline
};

}  // namespace loopchat::cli
