// The line being typed in interactive mode: a byte buffer edited by code
// points, fed with raw terminal input (keys and escape sequences, possibly
// split across reads) and drawn on one terminal row. Does no I/O.
#pragma once

#include <cstddef>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

namespace loopchat::cli {

class LineEditor {
 public:
  struct FeedResult {
    std::vector<std::string> lines;  // submitted with Enter, in order
    bool quit = false;               // Ctrl-C, or Ctrl-D on an empty line: stop reading
    bool changed = false;            // the row must be redrawn
  };

  // Bytes as read from the terminal. After a quit the rest is ignored.
  FeedResult feed(std::string_view bytes);

  // Escape sequence that redraws the row: clears it, writes the prompt (which
  // takes `prompt_columns` columns) and the visible part of the line, and
  // puts the cursor where it belongs. Lines wider than the row scroll.
  std::string render(std::string_view prompt, std::size_t prompt_columns, std::size_t width);

  const std::string& line() const { return line_; }
  std::size_t cursor_bytes() const { return cursor_; }
  std::size_t cursor_column() const;  // in code points

 private:
  enum class State { text, escape, csi, ss3 };
  void key(char c, FeedResult& out);
  void control(char c, FeedResult& out);
  void sequence(char final, FeedResult& out);
  void insert(char c);
  void move_left();
  void move_right();
  void erase(std::size_t from, std::size_t to);
  void recall(int direction);
  void submit(FeedResult& out);

  std::string line_;
  std::size_t cursor_ = 0;  // a byte offset, at a code point boundary between keys
  std::size_t scroll_ = 0;  // first code point shown when the line is wider than the row
  State state_ = State::text;
  std::string params_;     // of the CSI sequence being read
  bool after_cr_ = false;  // a '\n' right after '\r' is the same Enter

  std::deque<std::string> history_;  // submitted lines, oldest first
  std::size_t history_pos_ = 0;      // == history_.size(): the line being typed
  std::string draft_;                // the line being typed while browsing history
};

}  // namespace loopchat::cli
