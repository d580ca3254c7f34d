#include "client/cli/renderer.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>

#include "common/codec.hpp"

namespace loopchat::cli {
namespace {

// SGR parameters. Sender colours avoid red (errors) and dim (notices).
constexpr std::string_view kDim = "2";
constexpr std::string_view kBold = "1";
constexpr std::string_view kRoom = "36";
constexpr std::string_view kNotice = "2;37";
constexpr std::string_view kError = "1;31";
constexpr std::string_view kReminder = "1;35";
constexpr std::string_view kFetched = "34";
constexpr std::string_view kSenderColors[] = {"32", "33", "34", "35", "36",
                                              "92", "93", "94", "95", "96"};

std::string_view sender_color(std::string_view name) {
  std::uint32_t hash = 2166136261u;  // FNV-1a: stable across runs and machines
  for (char c : name) hash = (hash ^ static_cast<unsigned char>(c)) * 16777619u;
  return kSenderColors[hash % std::size(kSenderColors)];
}

// Continuation lines of a multi-line text start under the text column.
std::string indent_lines(std::string text, std::size_t columns) {
  std::string pad = "\n" + std::string(columns, ' ');
  std::string out;
  for (char c : text) {
    if (c == '\n')
      out += pad;
    else
      out += c;
  }
  return out;
}

std::string human_bytes(std::uint64_t bytes) {
  char buffer[32];
  if (bytes < 10 * 1024)
    std::snprintf(buffer, sizeof buffer, "%llu B", static_cast<unsigned long long>(bytes));
  else if (bytes < 10ull * 1024 * 1024)
    std::snprintf(buffer, sizeof buffer, "%.1f KiB", static_cast<double>(bytes) / 1024);
  else
    std::snprintf(buffer, sizeof buffer, "%.1f MiB", static_cast<double>(bytes) / 1048576);
  return buffer;
}

}  // namespace

std::string Renderer::paint(std::string_view sgr, std::string_view text) const {
  if (!color_) return std::string(text);
  std::string out = "\x1b[";
  out.append(sgr);
  out += 'm';
  out.append(text);
  out.append("\x1b[0m");
  return out;
}

std::string Renderer::stamp(std::int64_t unix_ms) const {
  return paint(kDim, clock(unix_ms)) + " ";
}

std::string Renderer::message(const protocol::Message& m, const View& view) const {
  std::string out = stamp(m.ts);
  std::size_t columns = 9;
  if (m.room != view.current_room) {
    out += paint(kRoom, "[" + sanitize(m.room) + "]") + " ";
    columns += protocol::utf8_length(m.room) + 3;
  }
  std::string from = sanitize(m.from);
  bool mine = !view.my_name.empty() && m.from == view.my_name;
  out += mine ? paint(kBold, "<" + from + ">") : paint(sender_color(m.from), "<" + from + ">");
  out += ' ';
  columns += protocol::utf8_length(from) + 3;
  std::string text = indent_lines(sanitize(m.text), columns);
  out += mine ? paint(kBold, text) : text;
  return out;
}

std::string Renderer::presence(const protocol::Presence& p, const View& view) const {
  std::string where = p.room == view.current_room ? "" : " [" + sanitize(p.room) + "]";
  std::string name = sanitize(p.name);
  std::string what;
  switch (p.event) {
    case protocol::PresenceEvent::join:
      what = name + " joined" + (where.empty() ? "" : where);
      break;
    case protocol::PresenceEvent::leave:
      what = name + " left" + (where.empty() ? "" : where);
      break;
    case protocol::PresenceEvent::nick:
      what = (p.old_name ? sanitize(*p.old_name) : std::string("someone")) + " is now known as " +
             name + where;
      break;
  }
  return stamp(now_ms()) + paint(kNotice, "-- " + what);
}

std::string Renderer::reminder(const protocol::Reminder& r) const {
  std::string late = r.late_ms > 50 ? " (" + std::to_string(r.late_ms) + " ms late)" : "";
  return stamp(now_ms()) + paint(kReminder, "** reminder: " + sanitize(r.text)) + paint(kDim, late);
}

std::string Renderer::fetched(const protocol::Fetched& f) const {
  std::string out = "fetched " + sanitize(f.url) + ": " + std::to_string(f.status) + ", " +
                    human_bytes(f.bytes) + " in " + std::to_string(f.ms) + " ms";
  if (f.title && !f.title->empty()) out += " - \"" + sanitize(*f.title) + "\"";
  return stamp(now_ms()) + paint(kFetched, "-- " + out);
}

std::string Renderer::stats(const protocol::Stats& s) const {
  char lag[96];
  std::snprintf(lag, sizeof lag, "p50 %.2f ms, p99 %.2f ms, max %.2f ms", s.loop_lag_ms.p50,
                s.loop_lag_ms.p99, s.loop_lag_ms.max);
  std::string text = "server stats: " + std::to_string(s.connections) + " connections, " +
                     std::to_string(s.rooms) + " rooms, " + std::to_string(s.messages_in) +
                     " messages in, " + std::to_string(s.messages_out) + " out\n" + "   loop lag " +
                     lag + "; up " + std::to_string(s.uptime_s) + " s; " +
                     human_bytes(s.rss_bytes) + " resident";
  return stamp(now_ms()) + paint(kNotice, "-- " + indent_lines(text, 9));
}

std::string Renderer::who(const protocol::Who& w) const {
  std::string names;
  for (const std::string& name : w.names) names += (names.empty() ? "" : ", ") + sanitize(name);
  if (w.names.empty()) names = "nobody";
  if (w.truncated) names += ", ...";
  return stamp(now_ms()) + paint(kNotice, "-- in #" + sanitize(w.room) + ": " + names);
}

std::string Renderer::notice(std::string_view text) const {
  return stamp(now_ms()) + paint(kNotice, "-- " + indent_lines(std::string(text), 12));
}

std::string Renderer::error(std::string_view text) const {
  return stamp(now_ms()) + paint(kError, "!! " + indent_lines(std::string(text), 12));
}

std::string Renderer::plain(std::string_view text) const {
  return paint(kDim, text);
}

Renderer::Prompt Renderer::prompt(std::string_view room, std::string_view state) const {
  std::string name = room.empty() ? "(no room)" : "#" + std::string(room);
  Prompt p;
  p.columns = (state.empty() ? 0 : state.size() + 1) + name.size() + 2;
  if (!state.empty()) p.text = paint(kError, std::string(state)) + " ";
  p.text += paint(kRoom, name) + paint(kBold, ">") + " ";
  return p;
}

std::string Renderer::clock(std::int64_t unix_ms) {
  std::time_t seconds = static_cast<std::time_t>(unix_ms / 1000);
  std::tm local{};
  localtime_r(&seconds, &local);
  char buffer[16];
  std::strftime(buffer, sizeof buffer, "%H:%M:%S", &local);
  return buffer;
}

std::int64_t Renderer::now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Renderer::sanitize(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '\n') {
      out += '\n';
    } else if (c == '\t') {
      out += ' ';
    } else if (c < 0x20 || c == 0x7f) {
      out += '^';
      out += static_cast<char>(c ^ 0x40);
    } else if (c == 0xC2 && i + 1 < text.size() &&
               static_cast<unsigned char>(text[i + 1]) >= 0x80 &&
               static_cast<unsigned char>(text[i + 1]) <= 0x9F) {
      out += "\xEF\xBF\xBD";  // a C1 control (U+0080..U+009F): U+FFFD
      ++i;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

}  // namespace loopchat::cli
