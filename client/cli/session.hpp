// One user's chat session over any number of connections: connects, says
// hello (nickname, rooms), turns typed lines into requests and events into
// screen lines, and when the connection drops reconnects with backoff,
// renicks, rejoins and fills the gap from history. Everything runs on the one
// io_context thread; nothing here is locked.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "client/cli/backoff.hpp"
#include "client/cli/command.hpp"
#include "client/cli/console.hpp"
#include "client/cli/options.hpp"
#include "client/cli/pending_requests.hpp"
#include "client/cli/renderer.hpp"
#include "client/cli/room_tracker.hpp"
#include "client/ws_client.hpp"
#include "common/protocol.hpp"

namespace loopchat::cli {

class Session {
 public:
  Session(asio::any_io_executor executor, const CliOptions& options, Console& console,
          const Renderer& renderer);

  // Runs until /quit, the end of scripted input (once everything sent is
  // answered), a signal, or a failure; returns the exit code (exit_code.hpp).
  // Every coroutine it starts has ended or is ending when it returns.
  asio::awaitable<int> run();

 private:
  // -- loops
  asio::awaitable<void> input_loop();
  asio::awaitable<void> connection_loop();
  asio::awaitable<void> read_loop();
  asio::awaitable<void> wait_signals(asio::signal_set& signals);
  asio::awaitable<void> on_line(std::string line);

  // -- connection state
  void went_online(const protocol::Welcome& welcome);
  void went_offline();
  std::string drop_reason() const;
  void finish(int exit_code);
  void check_scripted_done();

  // -- commands and requests
  void execute(const Command& command);
  void join_room(const std::string& room, bool from_user);
  void ask_fill(const std::string& room, const RoomTracker::Ask& ask, bool from_user);
  void show_fill(const std::string& room, RoomTracker::Fill fill, bool from_user);
  void forget_room(const std::string& room);
  std::int64_t send(protocol::RequestBody body, PendingRequest pending);

  // -- events
  void handle_frame(std::string_view frame);
  void on_event(const protocol::Joined& e);
  void on_event(const protocol::Left& e);
  void on_event(const protocol::Presence& e);
  void on_event(const protocol::Message& e);
  void on_event(const protocol::History& e);
  void on_event(const protocol::Pong& e);
  void on_event(const protocol::Reminder& e);
  void on_event(const protocol::Fetched& e);
  void on_event(const protocol::Stats& e);
  void on_event(const protocol::Who& e);
  void on_event(const protocol::Authenticated& e);
  void on_event(const protocol::Error& e);
  void on_event(const protocol::Welcome& e);

  // -- output
  void show(const std::string& line);  // chat output, none with --json
  void notice(const std::string& text);
  void local_error(const std::string& text);
  void update_prompt();
  View view() const { return View{current_, my_name_}; }
  bool joined(const std::string& room) const;

  void wake() { wake_.cancel(); }
  asio::awaitable<void> wait_for_change();

  asio::any_io_executor executor_;
  const CliOptions& options_;
  Console& console_;
  const Renderer& renderer_;
  const bool scripted_;

  std::unique_ptr<client::WsClient> ws_;  // one per connection attempt
  bool online_ = false;                   // welcome received on the current connection
  bool ever_online_ = false;
  bool closed_by_server_ = false;
  std::uint16_t close_code_ = 0;
  std::string close_reason_;
  std::error_code drop_error_;
  Backoff backoff_;

  std::string my_name_;
  std::optional<std::string>
      wanted_name_;                 // asked for with --name or /nick, reasserted on reconnect
  std::vector<std::string> rooms_;  // joined, in join order
  std::map<std::string, RoomTracker> trackers_;
  std::string current_;
  PendingRequests pending_;
  std::deque<Command> outbox_;  // interactive: typed while offline

  bool input_done_ = false;
  std::optional<std::int64_t> final_ping_;
  bool finished_ = false;
  int exit_code_ = 0;

  asio::steady_timer wake_;  // the input loop waits on it for room to send
  asio::steady_timer done_;  // run() waits on it
  asio::steady_timer backoff_timer_;
  asio::steady_timer close_timer_;  // bounds the close handshake at exit
  asio::signal_set stop_signals_;
  asio::signal_set resize_signal_;
};

}  // namespace loopchat::cli
