// One line per event worth knowing, with a level, on stderr. `--quiet`
// keeps warnings and errors only. Called rarely (never per message), so the
// unbuffered stderr write does not cost the loop.
#pragma once

#include <sstream>
#include <string_view>

namespace loopchat::log {

enum class Level { debug, info, warn, error };

void set_quiet(bool quiet);
bool enabled(Level level);
void write(Level level, std::string_view line);

template <typename... Parts>
void print(Level level, const Parts&... parts) {
  if (!enabled(level)) return;
  std::ostringstream line;
  (line << ... << parts);
  write(level, line.view());
}
template <typename... Parts>
void info(const Parts&... parts) {
  print(Level::info, parts...);
}
template <typename... Parts>
void warn(const Parts&... parts) {
  print(Level::warn, parts...);
}
template <typename... Parts>
void error(const Parts&... parts) {
  print(Level::error, parts...);
}

}  // namespace loopchat::log
