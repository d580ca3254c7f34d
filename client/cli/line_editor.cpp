#include "client/cli/line_editor.hpp"

#include <algorithm>

namespace loopchat::cli {
namespace {

constexpr std::size_t kHistoryLines = 200;

bool continuation(char c) {
  return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

std::size_t code_points(std::string_view s) {
  return static_cast<std::size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return !continuation(c); }));
}

// Byte offset of code point `n` of `s` (s.size() past the end).
std::size_t offset_of(std::string_view s, std::size_t n) {
  std::size_t i = 0;
  for (; i < s.size(); ++i) {
    if (continuation(s[i])) continue;
    if (n == 0) return i;
    --n;
  }
  return s.size();
}

constexpr char ctrl(char c) {
  return static_cast<char>(c & 0x1f);
}

}  // namespace

LineEditor::FeedResult LineEditor::feed(std::string_view bytes) {
  FeedResult out;
  for (char c : bytes) {
    if (out.quit) break;
    key(c, out);
  }
  return out;
}

void LineEditor::key(char c, FeedResult& out) {
  bool was_cr = after_cr_;
  after_cr_ = false;
  switch (state_) {
    case State::escape:
      if (c == '[') {
        state_ = State::csi;
        params_.clear();
      } else if (c == 'O') {
        state_ = State::ss3;
      } else {
        state_ = State::text;  // Alt+key and the like: ignored
      }
      return;
    case State::csi:
      if (c >= 0x40 && c <= 0x7e) {
        state_ = State::text;
        sequence(c, out);
      } else if (params_.size() < 16) {
        params_ += c;
      }
      return;
    case State::ss3:
      state_ = State::text;
      params_.clear();
      sequence(c, out);
      return;
    case State::text:
      break;
  }
  unsigned char u = static_cast<unsigned char>(c);
  if (c == '\x1b') {
    state_ = State::escape;
  } else if (c == '\r' || c == '\n') {
    if (c == '\n' && was_cr) return;
    after_cr_ = c == '\r';
    submit(out);
  } else if (u < 0x20 || u == 0x7f) {
    control(c, out);
  } else {
    insert(c);  // printable ASCII, and every byte of a UTF-8 sequence
    out.changed = true;
  }
}

void LineEditor::control(char c, FeedResult& out) {
  std::size_t before = cursor_;
  switch (c) {
    case ctrl('C'):
      out.quit = true;
      return;
    case ctrl('D'):
      if (line_.empty()) {
        out.quit = true;
        return;
      }
      if (cursor_ < line_.size()) {
        move_right();
        erase(before, cursor_);
      }
      break;
    case ctrl('A'):
      cursor_ = 0;
      break;
    case ctrl('E'):
      cursor_ = line_.size();
      break;
    case ctrl('B'):
      move_left();
      break;
    case ctrl('F'):
      move_right();
      break;
    case ctrl('H'):
    case '\x7f':
      move_left();
      erase(cursor_, before);
      break;
    case ctrl('U'):
      erase(0, cursor_);
      break;
    case ctrl('K'):
      erase(cursor_, line_.size());
      break;
    case ctrl('W'): {
      std::size_t start = cursor_;
      while (start > 0 && line_[start - 1] == ' ') --start;
      while (start > 0 && line_[start - 1] != ' ') --start;
      erase(start, cursor_);
      break;
    }
    case ctrl('P'):
      recall(-1);
      break;
    case ctrl('N'):
      recall(+1);
      break;
    case ctrl('L'):
      break;  // just redraw
    default:
      return;  // Tab, Ctrl-Z and the rest: ignored
  }
  out.changed = true;
}

void LineEditor::sequence(char final, FeedResult& out) {
  switch (final) {
    case 'D':
      move_left();
      break;
    case 'C':
      move_right();
      break;
    case 'A':
      recall(-1);
      break;
    case 'B':
      recall(+1);
      break;
    case 'H':
      cursor_ = 0;
      break;
    case 'F':
      cursor_ = line_.size();
      break;
    case '~':
      if (params_ == "1" || params_ == "7") {
        cursor_ = 0;
      } else if (params_ == "4" || params_ == "8") {
        cursor_ = line_.size();
      } else if (params_ == "3" && cursor_ < line_.size()) {
        std::size_t before = cursor_;
        move_right();
        erase(before, cursor_);
      } else {
        return;  // Insert, PageUp/PageDown, F-keys, bracketed paste marks: ignored
      }
      break;
    default:
      return;
  }
  out.changed = true;
}

void LineEditor::insert(char c) {
  line_.insert(line_.begin() + static_cast<std::ptrdiff_t>(cursor_), c);
  ++cursor_;
}

void LineEditor::move_left() {
  if (cursor_ == 0) return;
  --cursor_;
  while (cursor_ > 0 && continuation(line_[cursor_])) --cursor_;
}

void LineEditor::move_right() {
  if (cursor_ >= line_.size()) return;
  ++cursor_;
  while (cursor_ < line_.size() && continuation(line_[cursor_])) ++cursor_;
}

void LineEditor::erase(std::size_t from, std::size_t to) {
  if (to <= from) return;
  line_.erase(from, to - from);
  cursor_ = from;
}

void LineEditor::recall(int direction) {
  if (history_.empty()) return;
  if (history_pos_ == history_.size()) draft_ = line_;
  if (direction < 0 && history_pos_ > 0) --history_pos_;
  if (direction > 0 && history_pos_ < history_.size()) ++history_pos_;
  line_ = history_pos_ == history_.size() ? draft_ : history_[history_pos_];
  cursor_ = line_.size();
}

void LineEditor::submit(FeedResult& out) {
  if (!line_.empty() && (history_.empty() || history_.back() != line_)) {
    history_.push_back(line_);
    if (history_.size() > kHistoryLines) history_.pop_front();
  }
  history_pos_ = history_.size();
  draft_.clear();
  out.lines.push_back(std::move(line_));
  line_.clear();
  cursor_ = 0;
  scroll_ = 0;
  out.changed = true;
}

std::size_t LineEditor::cursor_column() const {
  return code_points(std::string_view(line_).substr(0, cursor_));
}

std::string LineEditor::render(std::string_view prompt, std::size_t prompt_columns,
                               std::size_t width) {
  // Keep one column free so the cursor never wraps past the right edge.
  std::size_t room = width > prompt_columns + 1 ? width - prompt_columns - 1 : 1;
  std::size_t column = cursor_column();
  std::size_t total = code_points(line_);
  if (column < scroll_) scroll_ = column;
  if (column > scroll_ + room) scroll_ = column - room;
  if (total <= room) scroll_ = 0;

  std::string_view text(line_);
  std::size_t begin = offset_of(text, scroll_);
  std::size_t end = offset_of(text, scroll_ + room);
  std::string out = "\r\x1b[K";
  out.append(prompt);
  out.append(text.substr(begin, end - begin));
  out += '\r';
  std::size_t target = prompt_columns + (column - scroll_);
  if (target > 0) out += "\x1b[" + std::to_string(target) + "C";
  return out;
}

}  // namespace loopchat::cli
