// What a typed line means: text to say, or a /command with its arguments,
// checked here so that a typo gets a local answer instead of a server error.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace loopchat::cli {

struct SayCommand {
  std::string text;
};
struct JoinCommand {
  std::string room;
};
struct LeaveCommand {
  std::optional<std::string> room;  // the current room when absent
};
struct NickCommand {
  std::string name;
};
struct HistoryCommand {
  std::optional<std::uint32_t> limit;
};
// Pages back: the messages before the oldest one shown of the current room.
struct MoreCommand {
  std::optional<std::uint32_t> limit;
};
struct RemindCommand {
  std::int64_t after_ms = 0;
  std::string text;
};
struct FetchCommand {
  std::string url;
};
struct StatsCommand {};
struct WhoCommand {
  std::optional<std::string> room;  // the current room when absent
};
struct HelpCommand {};
struct QuitCommand {};
struct BadCommand {
  std::string message;  // what is wrong, for the user
};

using Command = std::variant<SayCommand, JoinCommand, LeaveCommand, NickCommand, HistoryCommand,
                             MoreCommand, RemindCommand, FetchCommand, StatsCommand, WhoCommand,
                             HelpCommand, QuitCommand, BadCommand>;

// A line starting with '/' is a command ("//text" says "/text"); any other
// line is said. Blank lines are BadCommand with an empty message.
Command parse_command(std::string_view line);

// The /help text, one command per line.
std::string_view help_text();

}  // namespace loopchat::cli
