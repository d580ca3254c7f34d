// One connection to Redis, driven by the loop: hiredis's async context does
// the protocol, and its socket is watched by an FdWatcher (the same adapter
// the fetcher's sockets use), so hiredis reads and writes only when the
// socket is ready. No thread, no blocking call once connected.
//
// Every command has a deadline (`timeout`): a reply later than that means
// the connection cannot be trusted to be in step, so it is dropped; every
// command still waiting gets an error, and on_lost says why. The owner
// reconnects (with its own backoff) by calling connect() again.
#pragma once

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <asio.hpp>

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "server/transport/fd_watcher.hpp"

namespace loopchat {

struct RedisEndpoint {
  std::string host = "127.0.0.1";  // an IP address: hiredis would resolve a name blocking
  int port = 6379;
  int db = 0;
};

class RedisConnection {
 public:
  // `reply` is null when `error` is set; both live only during the call.
  using Callback = std::function<void(const redisReply* reply, std::string_view error)>;

  RedisConnection(asio::io_context& io, RedisEndpoint endpoint, std::chrono::milliseconds timeout,
                  std::function<void(const std::string& why)> on_lost);
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  // Starts connecting (and SELECTs the db); `done` gets "" once connected,
  // or why not. Commands sent before that wait in hiredis's buffer.
  void connect(std::function<void(const std::string& error)> done);
  bool connected() const { return state_ == State::connected; }

  // Sends a command. With `repeating`, the callback stays for every reply on
  // this command (SUBSCRIBE's messages) and has no deadline.
  void command(const std::vector<std::string>& args, Callback callback, bool repeating = false);
  // Sends a command whose replies go elsewhere (UNSUBSCRIBE: each channel's
  // SUBSCRIBE callback gets its end).
  void send_unanswered(const std::vector<std::string>& args);
  // Drops the connection now: waiting commands get an error.
  void drop(const std::string& why);

 private:
  enum class State { idle, connecting, connected };
  struct Pending;  // one command's callback, owned by hiredis until its reply

  static void on_connect(const redisAsyncContext* context, int status);
  static void on_disconnect(const redisAsyncContext* context, int status);
  static void on_reply(redisAsyncContext* context, void* reply, void* data);
  int send(const std::vector<std::string>& args, redisCallbackFn* fn, void* data);
  void attach();
  template <bool read, bool wanted>
  static void want(void* self);  // hiredis's add/del read/write hooks
  void watch();
  void arm_deadline();
  void lost(const std::string& why);

  asio::io_context& io_;
  RedisEndpoint endpoint_;
  std::chrono::milliseconds timeout_;
  std::function<void(const std::string&)> on_lost_;
  std::function<void(const std::string&)> connect_done_;
  redisAsyncContext* context_ = nullptr;
  std::unique_ptr<FdWatcher> watcher_;
  bool want_read_ = false, want_write_ = false;
  State state_ = State::idle;
  // Deadlines of the commands waiting for a reply, in the order sent (Redis
  // answers in order): the oldest is at the front.
  std::deque<std::chrono::steady_clock::time_point> deadlines_;
  asio::steady_timer deadline_timer_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace loopchat
