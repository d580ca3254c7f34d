#include "server/ops/log.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <asio.hpp>

#include <cerrno>
#include <chrono>
#include <ctime>
#include <string>
#include <unordered_map>

namespace loopchat::log {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::string_view kNames[] = {"debug", "info", "warn", "error"};
constexpr auto kRetry = std::chrono::milliseconds(20);       // while lines wait for stderr
constexpr auto kExitGrace = std::chrono::milliseconds(100);  // for what still waits at exit

Settings settings;
Counters counts;

// ------------------------------------------------------------- rate limit

// One call site's current second.
struct Window {
  std::int64_t second = -1;
  std::size_t written = 0;
  std::uint64_t suppressed = 0;
  Level level = Level::info;
};
std::unordered_map<const void*, Window> windows;
bool suppressed_pending = false;  // some window holds an unreported count

std::int64_t now_second() {
  return std::chrono::duration_cast<std::chrono::seconds>(Clock::now().time_since_epoch()).count();
}

// ----------------------------------------------------------------- stderr

// How lines reach stderr. Only pipes, sockets and terminals can block for
// long; a regular file (or /dev/null) is written directly. O_NONBLOCK is
// never set on fd 2 itself: its open file description is shared with the
// parent (a shell's terminal, a supervisor's pipe) and often with fd 1.
enum class Mode {
  blocking,     // regular file, /dev/null, or no way around it
  nonblocking,  // pipe or terminal, reopened through /proc/self/fd/2 with O_NONBLOCK
  socket,       // send(MSG_DONTWAIT): non-blocking per call
};
struct Stderr {
  int fd = STDERR_FILENO;
  Mode mode = Mode::blocking;
  std::string waiting;  // whole lines (and the rest of a started one), up to buffer_bytes
  std::uint64_t dropped_unreported = 0;
};
Stderr out;

void open_stderr() {
  if (out.fd != STDERR_FILENO) ::close(out.fd);
  out.fd = STDERR_FILENO;
  out.mode = Mode::blocking;
  struct stat st {};
  if (::fstat(STDERR_FILENO, &st) != 0) return;
  if (S_ISSOCK(st.st_mode)) {
    out.mode = Mode::socket;
  } else if (S_ISFIFO(st.st_mode) || (S_ISCHR(st.st_mode) && ::isatty(STDERR_FILENO))) {
    // A new open file description of the same pipe or terminal, ours alone.
    // Fails (ENXIO) for a pipe nobody reads: writes then fail at once anyway.
    int own = ::open("/proc/self/fd/2", O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (own >= 0) {
      out.fd = own;
      out.mode = Mode::nonblocking;
    }
  }
}

// Bytes written, 0 when stderr is full. A stderr that fails otherwise
// (closed pipe, full disk) takes the bytes: there is nowhere else to put them.
std::size_t write_some(std::string_view data) {
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = out.mode == Mode::socket ? ::send(out.fd, data.data() + done, data.size() - done,
                                                  MSG_DONTWAIT | MSG_NOSIGNAL)
                                         : ::write(out.fd, data.data() + done, data.size() - done);
    if (n > 0) {
      done += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    return data.size();
  }
  return done;
}

std::string format(Level level, std::string_view line) {
  auto now = std::chrono::system_clock::now();
  std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &utc);
  return std::string(stamp) + "." + std::to_string(1000 + millis).substr(1) + "Z " +
         std::string(kNames[static_cast<int>(level)]) + " " + std::string(line) + "\n";
}

// Writes what waits, as far as stderr takes it; then says how much was dropped.
void flush_waiting() {
  if (!out.waiting.empty()) {
    out.waiting.erase(0, write_some(out.waiting));
    if (!out.waiting.empty()) return;
  }
  if (out.dropped_unreported == 0) return;
  std::string note = format(Level::warn, std::to_string(out.dropped_unreported) +
                                             " log lines dropped: stderr was not writable");
  out.dropped_unreported = 0;
  out.waiting.assign(note, write_some(note));
}

void arm_retry();

void emit(std::string_view text) {
  flush_waiting();
  if (out.waiting.empty()) {
    std::size_t n = write_some(text);
    if (n == text.size()) return;
    out.waiting.assign(text.substr(n));  // lines stay whole: the rest of this one waits
  } else if (out.waiting.size() + text.size() <= settings.buffer_bytes) {
    out.waiting += text;
  } else {
    ++counts.lines_dropped;
    ++out.dropped_unreported;
    return;
  }
  arm_retry();
}

void emit_summary(const void* key, Window& window) {
  std::string line = "(" + std::to_string(window.suppressed) + " similar lines suppressed";
  if (key != nullptr) line += ": \"" + std::string(static_cast<const char*>(key)) + "...\"";
  window.suppressed = 0;
  emit(format(window.level, line + ")"));
}

// The counts of seconds that are over (all of them when `all`).
void flush_summaries(bool all) {
  if (!suppressed_pending) return;
  suppressed_pending = false;
  std::int64_t now = now_second();
  for (auto& [key, window] : windows) {
    if (window.suppressed == 0) continue;
    if (all || window.second < now)
      emit_summary(key, window);
    else
      suppressed_pending = true;
  }
}

}  // namespace

// ------------------------------------------------------------- loop flush

struct LoopFlush::Timer {
  explicit Timer(asio::io_context& io) : timer(io) {}
  asio::steady_timer timer;
  bool armed = false;
};

namespace {
LoopFlush::Timer* retry = nullptr;  // while a LoopFlush runs

void arm_retry() {
  if (retry == nullptr || retry->armed) return;
  retry->armed = true;
  retry->timer.expires_after(kRetry);
  retry->timer.async_wait([](std::error_code ec) {
    if (ec || retry == nullptr) return;  // stopped
    retry->armed = false;
    flush_summaries(false);
    flush_waiting();
    if (!out.waiting.empty() || suppressed_pending) arm_retry();
  });
}
}  // namespace

LoopFlush::LoopFlush(asio::io_context& io) : timer_(std::make_unique<Timer>(io)) {
  retry = timer_.get();
  if (!out.waiting.empty() || suppressed_pending) arm_retry();
}

void LoopFlush::stop() {
  if (retry != timer_.get()) return;
  retry = nullptr;
  timer_->timer.cancel();
}

LoopFlush::~LoopFlush() {
  stop();
  flush_summaries(true);
  // The loop has ended: a short, bounded wait for a slow reader, then the rest is lost.
  auto deadline = Clock::now() + kExitGrace;
  flush_waiting();
  while (!out.waiting.empty() && Clock::now() < deadline) {
    pollfd p{out.fd, POLLOUT, 0};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (::poll(&p, 1, static_cast<int>(left.count()) + 1) <= 0) break;
    flush_waiting();
  }
}

// ----------------------------------------------------------------- public

void configure(const Settings& new_settings) {
  settings = new_settings;
  open_stderr();
}

const Counters& counters() {
  return counts;
}

bool enabled(Level level) {
  return level >= (settings.quiet ? Level::warn : Level::info);
}

bool admit(Level level, const void* key) {
  if (settings.lines_per_second == 0) return true;
  Window& window = windows[key];
  window.level = level;
  std::int64_t now = now_second();
  if (window.second != now) {
    if (window.suppressed != 0) emit_summary(key, window);
    window.second = now;
    window.written = 0;
  }
  if (window.written < settings.lines_per_second) {
    ++window.written;
    return true;
  }
  ++window.suppressed;
  ++counts.lines_suppressed;
  suppressed_pending = true;
  arm_retry();  // the summary comes even if this call site falls silent
  return false;
}

void write(Level level, std::string_view line) {
  flush_summaries(false);
  std::string text = format(level, line);
  emit(text);
}

void write_from_signal_handler(std::string_view text) {
  // Only async-signal-safe calls; in blocking mode stderr is a file and does not stall.
  [[maybe_unused]] ssize_t written =
      out.mode == Mode::socket
          ? ::send(out.fd, text.data(), text.size(), MSG_DONTWAIT | MSG_NOSIGNAL)
          : ::write(out.fd, text.data(), text.size());
}

void coroutine_failed(const char* what, const std::exception_ptr& failure) {
  ++counts.coroutine_failures;
  try {
    std::rethrow_exception(failure);
  } catch (const std::exception& e) {
    print_as(Level::error, what, "coroutine '", what, "' ended by an exception: ", e.what());
  } catch (...) {
    print_as(Level::error, what, "coroutine '", what, "' ended by an unknown exception");
  }
}

}  // namespace loopchat::log
