#include "server/ops/log.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>

namespace loopchat::log {
namespace {
bool quiet_mode = false;
constexpr std::string_view kNames[] = {"debug", "info", "warn", "error"};
}  // namespace

void set_quiet(bool quiet) {
  quiet_mode = quiet;
}

bool enabled(Level level) {
  return level >= (quiet_mode ? Level::warn : Level::info);
}

void write(Level level, std::string_view line) {
  auto now = std::chrono::system_clock::now();
  std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &utc);
  std::string out = std::string(stamp) + "." + std::to_string(1000 + millis).substr(1) + "Z " +
                    std::string(kNames[static_cast<int>(level)]) + " " + std::string(line) + "\n";
  std::fwrite(out.data(), 1, out.size(), stderr);
}

}  // namespace loopchat::log
