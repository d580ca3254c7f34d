#include "client/cli/console.hpp"

#include <poll.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <utility>

#include <asio/experimental/as_tuple.hpp>
#include <asio/post.hpp>
#include <asio/use_awaitable.hpp>

#include "client/cli/terminal.hpp"
#include "common/use_tuple.hpp"

namespace loopchat::cli {
namespace {

// Blocking write of everything. Asio made the terminal's shared file
// description non-blocking (through stdin), so EAGAIN waits for room.
void write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n > 0) {
      bytes.remove_prefix(static_cast<std::size_t>(n));
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{fd, POLLOUT, 0};
      ::poll(&p, 1, 1000);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      return;  // a closed stdout: nothing sensible left to do with the output
    }
  }
}

}  // namespace

Console::Console(asio::any_io_executor executor, bool interactive)
    : executor_(executor), interactive_(interactive), input_(executor) {
  int fd = ::dup(STDIN_FILENO);
  std::error_code ec;
  if (fd >= 0) input_.assign(fd, ec);
  if (fd >= 0 && ec) file_fd_ = fd;  // epoll refuses regular files: read them directly
  if (interactive_) width_ = terminal_columns(STDOUT_FILENO);
}

void Console::write_out(std::string_view bytes) {
  write_all(STDOUT_FILENO, bytes);
}

void Console::print(std::string_view text) {
  std::string out;
  if (interactive_ && prompt_shown_) out = "\r\x1b[K";
  out.append(text);
  out += '\n';
  if (interactive_) {
    out += editor_.render(prompt_, prompt_columns_, width_);
    prompt_shown_ = true;
  }
  write_out(out);
}

void Console::status(std::string_view text) {
  if (interactive_) return print(text);
  std::string line(text);
  line += '\n';
  write_all(STDERR_FILENO, line);
}

void Console::set_prompt(std::string prompt, std::size_t columns) {
  if (prompt == prompt_ && columns == prompt_columns_) return;
  prompt_ = std::move(prompt);
  prompt_columns_ = columns;
  if (interactive_) redraw();
}

void Console::resized() {
  if (!interactive_) return;
  width_ = terminal_columns(STDOUT_FILENO);
  redraw();
}

void Console::redraw() {
  write_out(editor_.render(prompt_, prompt_columns_, width_));
  prompt_shown_ = true;
}

void Console::clear_prompt() {
  if (interactive_ && prompt_shown_) write_out("\r\x1b[K");
  prompt_shown_ = false;
  prompt_.clear();
  prompt_columns_ = 0;
}

void Console::cancel_input() {
  cancelled_ = true;
  std::error_code ignored;
  input_.cancel(ignored);
}

asio::awaitable<Console::InputEnd> Console::read_lines(LineHandler on_line) {
  if (interactive_) redraw();
  if (file_fd_ >= 0) co_return co_await read_file(on_line);
  if (!input_.is_open()) co_return InputEnd::error;
  co_return co_await read_stream(on_line);
}

asio::awaitable<Console::InputEnd> Console::read_stream(LineHandler& on_line) {
  std::array<char, 4096> buffer;
  while (!cancelled_) {
    auto [ec, n] = co_await input_.async_read_some(asio::buffer(buffer), use_tuple);
    if (n > 0 && !co_await deliver(std::string_view(buffer.data(), n), on_line))
      co_return InputEnd::quit;
    if (ec == asio::error::eof) break;
    if (ec == asio::error::operation_aborted || cancelled_) co_return InputEnd::cancelled;
    if (ec) {
      status("loopchat: cannot read standard input: " + ec.message());
      co_return InputEnd::error;
    }
  }
  if (cancelled_) co_return InputEnd::cancelled;
  if (!partial_.empty()) co_await on_line(std::exchange(partial_, {}));
  co_return InputEnd::eof;
}

asio::awaitable<Console::InputEnd> Console::read_file(LineHandler& on_line) {
  std::array<char, 4096> buffer;
  while (!cancelled_) {
    ssize_t n = ::read(file_fd_, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      status("loopchat: cannot read standard input: " + std::string(std::strerror(errno)));
      co_return InputEnd::error;
    }
    if (n == 0) break;
    if (!co_await deliver(std::string_view(buffer.data(), static_cast<std::size_t>(n)), on_line))
      co_return InputEnd::quit;
    co_await asio::post(executor_, asio::use_awaitable);  // let the network run between chunks
  }
  if (cancelled_) co_return InputEnd::cancelled;
  if (!partial_.empty()) co_await on_line(std::exchange(partial_, {}));
  co_return InputEnd::eof;
}

// False when the user asked to quit.
asio::awaitable<bool> Console::deliver(std::string_view chunk, LineHandler& on_line) {
  if (interactive_) {
    LineEditor::FeedResult result = editor_.feed(chunk);
    if (result.changed) redraw();
    for (std::string& line : result.lines) {
      co_await on_line(std::move(line));
      if (cancelled_) co_return true;
    }
    co_return !result.quit;
  }
  partial_.append(chunk);
  std::size_t start = 0, newline;
  while ((newline = partial_.find('\n', start)) != std::string::npos) {
    std::string line = partial_.substr(start, newline - start);
    start = newline + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    co_await on_line(std::move(line));
    if (cancelled_) break;
  }
  partial_.erase(0, start);
  co_return true;
}

}  // namespace loopchat::cli
