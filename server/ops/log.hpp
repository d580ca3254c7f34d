// One line per event worth knowing, with a level, on stderr. `--quiet`
// keeps warnings and errors only.
//
// Hostile clients can trigger log lines at will, so two rules hold
// (docs/architecture.md, "Logging and failures"):
// - Lines are rate-limited per call site: at most `lines_per_second` a second
//   for each format (the string literal a line starts with), then one
//   "(k similar lines suppressed)" line. A suppressed line costs a hash
//   lookup, not its formatting.
// - Writing never waits on a slow stderr. When stderr is a pipe, socket or
//   terminal that is full, lines wait in a buffer of `buffer_bytes`, written
//   at the next line or by a retry timer on the loop; lines beyond the
//   buffer are dropped and counted.
#pragma once

#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <sstream>
#include <string_view>
#include <type_traits>

namespace asio {
class io_context;
}

namespace loopchat::log {

enum class Level { debug, info, warn, error };

struct Settings {
  bool quiet = false;
  std::size_t lines_per_second = 20;     // per call site; 0: no limit
  std::size_t buffer_bytes = 64 * 1024;  // lines waiting for a full stderr
};
// Applies `settings` and looks at what stderr is (again: tests swap fd 2).
void configure(const Settings& settings);

// Process-wide counters, shown in /metrics.
struct Counters {
  std::uint64_t lines_suppressed = 0;    // over a call site's rate
  std::uint64_t lines_dropped = 0;       // stderr full and the buffer too
  std::uint64_t coroutine_failures = 0;  // exceptions that ended a spawned coroutine
};
const Counters& counters();

// While it lives (and until stop()), lines waiting for a full stderr are
// retried on the loop every few milliseconds, not only at the next line.
// stop() at shutdown: the retry timer must not keep io.run() going.
class LoopFlush {
 public:
  explicit LoopFlush(asio::io_context& io);
  ~LoopFlush();  // one last bounded attempt to write what waits
  LoopFlush(const LoopFlush&) = delete;
  LoopFlush& operator=(const LoopFlush&) = delete;
  void stop();

  struct Timer;

 private:
  std::unique_ptr<Timer> timer_;
};

bool enabled(Level level);
// Whether a line of call site `key` may be written now; if not, it is counted.
bool admit(Level level, const void* key);
void write(Level level, std::string_view line);

// The rate-limit key of a line: the address of the literal it starts with.
template <typename First>
const void* key_of(const First& first) {
  if constexpr (std::is_array_v<First> &&
                std::is_same_v<std::remove_cv_t<std::remove_extent_t<First>>, char>)
    return &first;
  return nullptr;  // lines that start with a value share one key
}

template <typename... Parts>
void print_as(Level level, const void* key, const Parts&... parts) {
  if (!enabled(level) || !admit(level, key)) return;
  std::ostringstream line;
  (line << ... << parts);
  write(level, line.view());
}
template <typename First, typename... Rest>
void print(Level level, const First& first, const Rest&... rest) {
  print_as(level, key_of(first), first, rest...);
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

// For a signal handler: `text` as it is, where lines go, never blocking.
void write_from_signal_handler(std::string_view text);

// Logs (rate-limited per `what`) and counts an exception that ended a coroutine.
void coroutine_failed(const char* what, const std::exception_ptr& failure);

}  // namespace loopchat::log

namespace loopchat {

// The completion handler for every co_spawn of the server, instead of
// asio::detached (which drops an escaping exception without a trace):
//   asio::co_spawn(executor, accept_loop(), log_failure("accept loop"));
// `what` names the coroutine in the log; it must outlive the coroutine (a literal).
struct LogFailure {
  const char* what;
  void operator()(std::exception_ptr failure) const {
    if (failure) log::coroutine_failed(what, failure);
  }
  template <typename Result>
  void operator()(std::exception_ptr failure, Result&&) const {
    if (failure) log::coroutine_failed(what, failure);
  }
};
inline LogFailure log_failure(const char* what) {
  return {what};
}

}  // namespace loopchat
