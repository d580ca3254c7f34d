#include "client/cli/command.hpp"

#include <charconv>
#include <cmath>

#include "common/codec.hpp"

namespace loopchat::cli {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// Splits off the first word of `rest`.
std::string_view next_word(std::string_view& rest) {
  rest = trim(rest);
  std::size_t end = rest.find_first_of(" \t");
  std::string_view word = rest.substr(0, end);
  rest = end == std::string_view::npos ? std::string_view{} : trim(rest.substr(end));
  return word;
}

BadCommand usage(std::string_view text) {
  return BadCommand{"usage: " + std::string(text)};
}

std::optional<std::int64_t> parse_seconds_as_ms(std::string_view text) {
  // Seconds, possibly with a fraction ("1.5"), but no exponent, sign or junk.
  if (text.empty() || text.find_first_not_of("0123456789.") != std::string_view::npos)
    return std::nullopt;
  double seconds = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  double ms = std::round(seconds * 1000);
  if (!(ms >= 0) || ms > 1e15) return std::nullopt;
  return static_cast<std::int64_t>(ms);
}

Command parse_slash(std::string_view line) {
  std::string_view rest = line.substr(1);
  std::string_view verb = next_word(rest);

  if (verb == "join" || verb == "j") {
    std::string_view room = next_word(rest);
    if (room.empty() || !rest.empty()) return usage("/join <room>");
    if (room.front() == '#') room.remove_prefix(1);
    if (!protocol::valid_room_name(room))
      return BadCommand{"bad room name '" + std::string(room) +
                        "': 1 to 64 letters, digits, '-', '_' or '.'"};
    return JoinCommand{std::string(room)};
  }
  if (verb == "leave" || verb == "part") {
    std::string_view room = next_word(rest);
    if (!rest.empty()) return usage("/leave [room]");
    if (room.empty()) return LeaveCommand{};
    if (room.front() == '#') room.remove_prefix(1);
    return LeaveCommand{std::string(room)};
  }
  if (verb == "nick") {
    std::string_view name = trim(rest);
    if (name.empty()) return usage("/nick <name>");
    if (!protocol::valid_nickname(name))
      return BadCommand{"bad nickname '" + std::string(name) +
                        "': 1 to 32 characters, no control characters"};
    return NickCommand{std::string(name)};
  }
  if (verb == "history" || verb == "more") {
    std::string_view count = next_word(rest);
    std::string_view shape = verb == "more" ? "/more [n]" : "/history [n]";
    if (!rest.empty()) return usage(shape);
    std::optional<std::uint32_t> limit;
    if (!count.empty()) {
      std::uint32_t n = 0;
      auto [end, ec] = std::from_chars(count.data(), count.data() + count.size(), n);
      if (ec != std::errc{} || end != count.data() + count.size() || n == 0)
        return usage(std::string(shape) + "   (n: a positive number of messages)");
      limit = n;
    }
    if (verb == "more") return MoreCommand{limit};
    return HistoryCommand{limit};
  }
  if (verb == "remind") {
    std::string_view when = next_word(rest);
    auto after_ms = parse_seconds_as_ms(when);
    if (!after_ms || rest.empty()) return usage("/remind <seconds> <text>");
    return RemindCommand{*after_ms, std::string(rest)};
  }
  if (verb == "fetch") {
    std::string_view url = next_word(rest);
    if (url.empty() || !rest.empty()) return usage("/fetch <url>");
    return FetchCommand{std::string(url)};
  }
  if (verb == "stats") return StatsCommand{};
  if (verb == "who") {
    std::string_view room = next_word(rest);
    if (!rest.empty()) return usage("/who [room]");
    if (room.empty()) return WhoCommand{};
    if (room.starts_with('#')) room.remove_prefix(1);
    if (!protocol::valid_room_name(room)) return usage("/who [room]: a room name");
    return WhoCommand{std::string(room)};
  }
  if (verb == "help" || verb == "?") return HelpCommand{};
  if (verb == "quit" || verb == "exit" || verb == "q") return QuitCommand{};
  return BadCommand{"unknown command /" + std::string(verb) + " (try /help)"};
}

}  // namespace

Command parse_command(std::string_view line) {
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
  if (trim(line).empty()) return BadCommand{};
  if (line.starts_with("//")) return SayCommand{std::string(line.substr(1))};
  if (line.starts_with("/")) return parse_slash(line);
  return SayCommand{std::string(line)};
}

std::string_view help_text() {
  return "Type a line to say it to the current room. Commands:\n"
         "  /join <room>              join a room and make it the current one\n"
         "  /leave [room]             leave a room (the current one by default)\n"
         "  /nick <name>              change your nickname\n"
         "  /history [n]              the current room's last n messages (default 50)\n"
         "  /more [n]                 n messages before the oldest one shown (default 50)\n"
         "  /remind <seconds> <text>  a reminder from the server after a delay\n"
         "  /fetch <url>              fetch a page; its preview is posted to the room\n"
         "  /stats                    the server's counters\n"
         "  /who [room]               who is in a room (the current one by default)\n"
         "  /help                     this text\n"
         "  /quit                     leave (also Ctrl-C, or Ctrl-D on an empty line)\n"
         "  //text                    say a line that starts with '/'\n"
         "Keys: Left/Right, Home/End (Ctrl-A/Ctrl-E), Up/Down for earlier lines,\n"
         "Backspace, Delete, Ctrl-U/Ctrl-K (cut before/after), Ctrl-W (cut a word).";
}

}  // namespace loopchat::cli
