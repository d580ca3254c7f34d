#include "client/cli/session.hpp"

#include <signal.h>

#include <algorithm>
#include <cstdio>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>

#include "client/cli/exit_code.hpp"
#include "common/codec.hpp"
#include "common/use_tuple.hpp"

namespace loopchat::cli {
namespace {

// Scripted mode sends at most this many requests ahead of their answers.
constexpr std::size_t kScriptedWindow = 32;
// Interactive mode keeps at most this many commands typed while offline.
constexpr std::size_t kOutboxCommands = 100;
// Messages shown as context when joining a room, and asked for to fill a gap
// when none was seen.
constexpr std::uint32_t kContextMessages = 10;
constexpr std::uint32_t kFillMessages = RoomTracker::kPageMessages;
// How long the close handshake may take at exit.
constexpr auto kCloseTimeout = std::chrono::seconds(1);

template <typename... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};

std::string seconds_text(std::chrono::milliseconds ms) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f s", static_cast<double>(ms.count()) / 1000);
  return buffer;
}

std::string connect_error_text(const std::error_code& ec, int http_status) {
  if (ec == client::WsErrc::handshake_rejected)
    return "the server answered HTTP " + std::to_string(http_status) + " instead of a WebSocket";
  if (ec == client::WsErrc::handshake_timeout) return "timed out";
  return ec.message();
}

}  // namespace

Session::Session(asio::any_io_executor executor, const CliOptions& options, Console& console,
                 const Renderer& renderer)
    : executor_(executor),
      options_(options),
      console_(console),
      renderer_(renderer),
      scripted_(!console.interactive()),
      backoff_(options.backoff_initial_ms, options.backoff_max_ms),
      wanted_name_(options.name),
      wake_(executor),
      done_(executor, asio::steady_timer::time_point::max()),
      backoff_timer_(executor),
      close_timer_(executor),
      stop_signals_(executor, SIGINT, SIGTERM, SIGHUP),
      resize_signal_(executor, SIGWINCH) {}

//------------------------------------------------------------------------------ loops

asio::awaitable<int> Session::run() {
  update_prompt();
  asio::co_spawn(executor_, wait_signals(stop_signals_), asio::detached);
  asio::co_spawn(executor_, wait_signals(resize_signal_), asio::detached);
  asio::co_spawn(executor_, connection_loop(), asio::detached);
  asio::co_spawn(executor_, input_loop(), asio::detached);
  if (!finished_) co_await done_.async_wait(use_tuple);
  co_return exit_code_;
}

asio::awaitable<void> Session::wait_signals(asio::signal_set& signals) {
  while (!finished_) {
    auto [ec, number] = co_await signals.async_wait(use_tuple);
    if (ec) co_return;
    if (number == SIGWINCH) {
      console_.resized();
    } else {
      finish(kExitSignalBase + number);
    }
  }
}

asio::awaitable<void> Session::input_loop() {
  Console::InputEnd end =
      co_await console_.read_lines([this](std::string line) { return on_line(std::move(line)); });
  switch (end) {
    case Console::InputEnd::quit:
      finish(kExitOk);
      break;
    case Console::InputEnd::error:
      finish(kExitFailure);
      break;
    case Console::InputEnd::eof:
      if (!scripted_) {
        finish(kExitOk);
        break;
      }
      input_done_ = true;
      check_scripted_done();
      break;
    case Console::InputEnd::cancelled:
      break;
  }
}

asio::awaitable<void> Session::connection_loop() {
  client::WsClientConfig config;
  config.connect_timeout_ms = options_.connect_timeout_ms;
  config.tls_ca_file = options_.ca_file;
  config.tls_insecure = options_.insecure;
  while (!finished_) {
    ws_ = std::make_unique<client::WsClient>(executor_, config);
    client::WsUrl target = options_.url;
    if (!options_.token.empty())  // a JWT is base64url and dots: nothing to escape
      target.path +=
          (target.path.find('?') == std::string::npos ? "?token=" : "&token=") + options_.token;
    std::error_code ec = co_await ws_->connect(target);
    if (finished_) break;
    std::string why;
    if (ec) {
      why = connect_error_text(ec, ws_->http_status());
      if (!ever_online_) {
        console_.status(renderer_.error("cannot connect to " + options_.url.text() + ": " + why));
        finish(kExitConnectFailed);
        break;
      }
      why = "reconnect failed: " + why;
    } else {
      closed_by_server_ = false;
      drop_error_ = {};
      co_await read_loop();
      went_offline();
      if (finished_) break;
      why = drop_reason();
      if (!options_.reconnect) {
        console_.status(renderer_.error(why));
        finish(kExitClosedByServer);
        break;
      }
    }
    unsigned limit =
        options_.reconnect_attempts.value_or(scripted_ ? kScriptedReconnectAttempts : 0);
    if (limit > 0 && backoff_.attempts() >= limit) {
      console_.status(
          renderer_.error(why + "; giving up after " + std::to_string(limit) + " attempts"));
      finish(kExitConnectFailed);
      break;
    }
    auto delay = backoff_.next();
    console_.status(renderer_.notice(why + "; reconnecting in " + seconds_text(delay)));
    backoff_timer_.expires_after(delay);
    co_await backoff_timer_.async_wait(use_tuple);
  }
  close_timer_.cancel();
}

asio::awaitable<void> Session::read_loop() {
  client::WsMessage message;
  while (true) {
    co_await ws_->receive_into(message);
    switch (message.kind) {
      case client::WsMessage::Kind::text:
        handle_frame(message.data);
        break;
      case client::WsMessage::Kind::binary:
        break;  // not part of the protocol: ignored
      case client::WsMessage::Kind::close:
        closed_by_server_ = true;
        close_code_ = message.close_code;
        close_reason_ = message.close_reason;
        co_return;
      case client::WsMessage::Kind::error:
        drop_error_ = message.error;
        co_return;
    }
  }
}

asio::awaitable<void> Session::on_line(std::string line) {
  Command command = parse_command(line);
  if (auto* bad = std::get_if<BadCommand>(&command); bad && bad->message.empty()) co_return;
  bool local = std::holds_alternative<HelpCommand>(command) ||
               std::holds_alternative<QuitCommand>(command) ||
               std::holds_alternative<BadCommand>(command);
  if (local) {
    execute(command);
    co_return;
  }
  if (scripted_) {
    // Flow control: wait to be online with room in the window.
    while (!finished_ && (!online_ || pending_.size() >= kScriptedWindow))
      co_await wait_for_change();
    if (!finished_) execute(command);
    co_return;
  }
  if (online_) {
    execute(command);
  } else if (outbox_.size() < kOutboxCommands) {
    outbox_.push_back(std::move(command));
    notice("not connected: this will be sent once reconnected");
  } else {
    local_error("not connected, and " + std::to_string(kOutboxCommands) +
                " lines are already waiting: this one is dropped");
  }
}

asio::awaitable<void> Session::wait_for_change() {
  wake_.expires_at(asio::steady_timer::time_point::max());
  co_await wake_.async_wait(use_tuple);
}

//------------------------------------------------------------------------------ connection state

void Session::went_online(const protocol::Welcome& welcome) {
  bool first = !ever_online_;
  online_ = true;
  ever_online_ = true;
  my_name_ = welcome.name;
  backoff_.reset();
  notice((first ? "connected to " : "reconnected to ") + options_.url.text() + " as " +
         Renderer::sanitize(welcome.name) + " (" + Renderer::sanitize(welcome.version) + ")");

  if (wanted_name_ && *wanted_name_ != my_name_) {
    std::string previous = my_name_;
    my_name_ = *wanted_name_;
    send(protocol::Nick{*wanted_name_}, {.kind = RequestKind::nick,
                                         .name = *wanted_name_,
                                         .previous = previous,
                                         .from_user = false});
    send(protocol::Ping{}, {.kind = RequestKind::ping});
  }
  if (first) {
    join_room(options_.room, true);
  } else {
    std::vector<std::string> rooms = rooms_;
    if (!current_.empty() && !joined(current_)) rooms.push_back(current_);
    rooms_.clear();
    for (const std::string& room : rooms) join_room(room, false);
  }
  while (!outbox_.empty() && online_) {
    Command command = std::move(outbox_.front());
    outbox_.pop_front();
    execute(command);
  }
  update_prompt();
  wake();
}

void Session::went_offline() {
  online_ = false;
  std::size_t lost = pending_.clear();
  final_ping_.reset();
  for (auto& [room, tracker] : trackers_) tracker.abandon_fill();
  if (lost > 0 && scripted_)
    console_.status(renderer_.error(std::to_string(lost) +
                                    " requests were not answered before the connection dropped"));
  update_prompt();
}

std::string Session::drop_reason() const {
  if (closed_by_server_) {
    std::string text = "connection closed by the server: " + std::to_string(close_code_);
    if (!close_reason_.empty()) text += " " + Renderer::sanitize(close_reason_);
    return text;
  }
  return "connection lost: " + (drop_error_ ? drop_error_.message() : std::string("closed"));
}

void Session::finish(int exit_code) {
  if (finished_) return;
  finished_ = true;
  exit_code_ = exit_code;
  console_.cancel_input();
  std::error_code ignored;
  stop_signals_.cancel(ignored);
  resize_signal_.cancel(ignored);
  backoff_timer_.cancel();
  wake_.cancel();
  if (ws_ && online_ && ws_->is_open()) {
    // Polite close; the read loop ends on the server's reply or at the timeout.
    ws_->send_close(1000, "bye");
    close_timer_.expires_after(kCloseTimeout);
    close_timer_.async_wait([this](std::error_code ec) {
      if (!ec && ws_) ws_->close_socket();
    });
  } else if (ws_) {
    ws_->close_socket();  // ends a connect in progress
  }
  done_.cancel();
}

// Scripted input has ended: once online, a last ping; its pong settles every
// request without an answer of its own, and when nothing is left we are done.
void Session::check_scripted_done() {
  if (!input_done_ || finished_ || !online_) return;
  if (!final_ping_) {
    final_ping_ = send(protocol::Ping{}, {.kind = RequestKind::ping});
    return;
  }
  if (pending_.empty()) finish(kExitOk);
}

//------------------------------------------------------------------------------ commands

void Session::execute(const Command& command) {
  std::visit(
      Overloaded{
          [&](const SayCommand& c) {
            if (current_.empty()) return local_error("you are in no room: /join one first");
            send(protocol::Say{current_, c.text},
                 {.kind = RequestKind::say, .room = current_, .name = my_name_});
          },
          [&](const JoinCommand& c) { join_room(c.room, true); },
          [&](const LeaveCommand& c) {
            std::string room = c.room.value_or(current_);
            if (room.empty()) return local_error("you are in no room");
            send(protocol::Leave{room}, {.kind = RequestKind::leave, .room = room});
            forget_room(room);  // at once: lines typed next must not go there
          },
          [&](const NickCommand& c) {
            std::string previous = my_name_;
            my_name_ = c.name;  // the server renames at once: messages that follow carry it
            send(protocol::Nick{c.name},
                 {.kind = RequestKind::nick, .name = c.name, .previous = previous});
            send(protocol::Ping{}, {.kind = RequestKind::ping});
          },
          [&](const HistoryCommand& c) {
            if (current_.empty()) return local_error("you are in no room: /join one first");
            send(protocol::HistoryRequest{current_, c.limit},
                 {.kind = RequestKind::history, .room = current_});
          },
          [&](const MoreCommand& c) {
            if (current_.empty()) return local_error("you are in no room: /join one first");
            auto tracker = trackers_.find(current_);
            std::uint64_t oldest = tracker == trackers_.end() ? 0 : tracker->second.oldest_seq();
            if (oldest == 1) return notice("#" + current_ + " has no older messages");
            std::optional<std::uint64_t> before;
            if (oldest > 0) before = oldest;  // nothing seen yet: the latest, as /history
            send(protocol::HistoryRequest{current_, c.limit, before, std::nullopt},
                 {.kind = RequestKind::history_more, .room = current_});
          },
          [&](const RemindCommand& c) {
            send(protocol::Remind{c.after_ms, c.text}, {.kind = RequestKind::remind});
            notice("reminder set for " + seconds_text(std::chrono::milliseconds(c.after_ms)) +
                   " from now");
          },
          [&](const FetchCommand& c) {
            std::optional<std::string> room;
            if (!current_.empty()) room = current_;
            send(protocol::Fetch{c.url, room}, {.kind = RequestKind::fetch, .room = current_});
            notice("fetching " + Renderer::sanitize(c.url) + " ...");
          },
          [&](const StatsCommand&) {
            send(protocol::StatsRequest{}, {.kind = RequestKind::stats});
          },
          [&](const WhoCommand& c) {
            std::string room = c.room.value_or(current_);
            if (room.empty()) return local_error("you are in no room: /who ROOM");
            send(protocol::WhoRequest{room}, {.kind = RequestKind::who, .room = room});
          },
          [&](const HelpCommand&) {
            if (options_.json)
              console_.status(std::string(help_text()));
            else
              console_.print(renderer_.plain(help_text()));
          },
          [&](const QuitCommand&) { finish(kExitOk); },
          [&](const BadCommand& c) { local_error(c.message); },
      },
      command);
  update_prompt();
}

void Session::join_room(const std::string& room, bool from_user) {
  if (from_user && joined(room)) {
    current_ = room;
    notice("now talking in #" + room);
    return;
  }
  std::string previous = current_;
  if (from_user || current_.empty()) current_ = room;
  RoomTracker::Ask ask = trackers_[room].begin_fill(from_user ? kContextMessages : kFillMessages);
  send(protocol::Join{room},
       {.kind = RequestKind::join, .room = room, .previous = previous, .from_user = from_user});
  ask_fill(room, ask, from_user);
}

void Session::ask_fill(const std::string& room, const RoomTracker::Ask& ask, bool from_user) {
  send(protocol::HistoryRequest{room, ask.limit, std::nullopt, ask.since_seq},
       {.kind = RequestKind::history_fill, .room = room, .from_user = from_user});
}

std::int64_t Session::send(protocol::RequestBody body, PendingRequest pending) {
  std::int64_t id = pending_.add(std::move(pending));
  std::string frame = protocol::encode(protocol::Request{id, std::move(body)});
  if (!ws_ || !online_ || !ws_->send_text(frame)) {
    pending_.take(id);
    local_error("not sent: the connection is closed");
  }
  return id;
}

//------------------------------------------------------------------------------ events

void Session::handle_frame(std::string_view frame) {
  if (options_.json) console_.print(frame);
  protocol::Event event = protocol::decode_event(frame);
  std::visit([&](const auto& e) { on_event(e); }, event);
  check_scripted_done();
  update_prompt();
  wake();
}

void Session::on_event(const protocol::Welcome& e) {
  went_online(e);
}

void Session::on_event(const protocol::Joined& e) {
  auto request = pending_.take(e.id);
  if (!joined(e.room)) rooms_.push_back(e.room);
  bool from_user = !request || request->from_user;
  if (from_user)
    notice("you joined #" + e.room + " (" + std::to_string(e.members) +
           (e.members == 1 ? " member)" : " members)"));
  else
    notice("rejoined #" + e.room);
}

void Session::on_event(const protocol::Left& e) {
  // Ours was forgotten when sent (and may have been joined again since).
  if (!pending_.take(e.id)) forget_room(e.room);
  std::string now = current_.empty()     ? "; you are in no room now"
                    : current_ == e.room ? ""
                                         : "; talking in #" + current_;
  notice("you left #" + e.room + now);
}

void Session::forget_room(const std::string& room) {
  rooms_.erase(std::remove(rooms_.begin(), rooms_.end(), room), rooms_.end());
  trackers_.erase(room);
  if (current_ == room) current_ = rooms_.empty() ? "" : rooms_.back();
}

void Session::on_event(const protocol::Presence& e) {
  show(renderer_.presence(e, view()));
}

void Session::on_event(const protocol::Message& e) {
  // Our own say comes back with its id, from the name we had when we sent it
  // (or the one we fell back to when a nick before it failed).
  const PendingRequest* request = pending_.find(e.id);
  bool ours = request != nullptr && request->kind == RequestKind::say && request->room == e.room &&
              (e.from == request->name || e.from == my_name_);
  if (ours) pending_.take(e.id);
  auto tracker = trackers_.find(e.room);
  if (tracker == trackers_.end() || tracker->second.on_live(e) == RoomTracker::Live::show)
    show(renderer_.message(e, View{current_, ours ? std::string_view(e.from) : my_name_}));
}

void Session::on_event(const protocol::History& e) {
  auto request = pending_.take(e.id);
  auto tracker = trackers_.find(e.room);
  if (request && request->kind == RequestKind::history_fill && tracker != trackers_.end())
    return show_fill(e.room, tracker->second.on_fill(e.messages, e.truncated), request->from_user);
  bool more = request && request->kind == RequestKind::history_more;
  if (e.messages.empty()) {
    notice(more ? "#" + e.room + " has no older messages" : "no messages in #" + e.room + " yet");
    return;
  }
  notice((more ? std::to_string(e.messages.size()) + " earlier messages of #"
               : "the last " + std::to_string(e.messages.size()) + " messages of #") +
         e.room + ":");
  for (const protocol::Message& m : e.messages) {
    show(renderer_.message(m, view()));
    if (tracker != trackers_.end() && !tracker->second.filling()) tracker->second.saw(m);
  }
  // Trimmed to the server's byte budget: the oldest of the asked ones were left out.
  if (e.truncated) notice("#" + e.room + ": more than fits in one answer; /more shows older ones");
}

void Session::show_fill(const std::string& room, RoomTracker::Fill fill, bool from_user) {
  if (fill.next) return ask_fill(room, *fill.next, from_user);
  if (fill.restarted) notice("#" + room + ": the server restarted, its history starts anew");
  if (fill.gap) notice("#" + room + ": more was missed than the server's history holds");
  if (!from_user && !fill.show.empty() && !fill.restarted)
    notice(std::to_string(fill.show.size()) + " new in #" + room + " while disconnected:");
  // Context on a first join is for people; scripts see only what happens.
  if (from_user && scripted_) return;
  if (from_user && !fill.show.empty()) notice("earlier in #" + room + ":");
  for (const protocol::Message& m : fill.show) show(renderer_.message(m, view()));
  if (fill.older) notice("#" + room + " has older messages: /more shows them");
}

void Session::on_event(const protocol::Pong& e) {
  pending_.take(e.id);
  auto id = PendingRequests::as_int(e.id);
  if (!id) return;
  for (const PendingRequest& nick : pending_.settle_before(*id)) {
    wanted_name_ = nick.name;
    notice("you are now known as " + Renderer::sanitize(nick.name));
  }
}

void Session::on_event(const protocol::Reminder& e) {
  pending_.take(e.id);
  show(renderer_.reminder(e));
}

void Session::on_event(const protocol::Fetched& e) {
  pending_.take(e.id);
  show(renderer_.fetched(e));
}

void Session::on_event(const protocol::Stats& e) {
  pending_.take(e.id);
  show(renderer_.stats(e));
}

// One line per page; a truncated page asks for the next one.
void Session::on_event(const protocol::Who& e) {
  pending_.take(e.id);
  show(renderer_.who(e));
  if (e.truncated && !e.names.empty())
    send(protocol::WhoRequest{e.room, e.names.back()}, {.kind = RequestKind::who, .room = e.room});
}

void Session::on_event(const protocol::Authenticated& e) {
  pending_.take(e.id);
}

void Session::on_event(const protocol::Error& e) {
  auto request = pending_.take(e.id);
  std::string text = Renderer::sanitize(e.message);
  if (request) {
    switch (request->kind) {
      case RequestKind::nick:
        my_name_ = request->previous;
        if (e.code == protocol::ErrorCode::name_taken)
          text = "the nickname " + Renderer::sanitize(request->name) + " is taken; you are " +
                 (request->from_user ? "still " : "") + Renderer::sanitize(my_name_) +
                 " (/nick to choose another)";
        else
          text = "cannot take the nickname " + Renderer::sanitize(request->name) + ": " + text;
        if (!request->from_user) wanted_name_.reset();
        break;
      case RequestKind::join:
        if (current_ == request->room && !joined(request->room)) current_ = request->previous;
        if (!joined(request->room)) trackers_.erase(request->room);
        text = "cannot join #" + request->room + ": " + text;
        break;
      case RequestKind::say:
        text =
            (e.code == protocol::ErrorCode::rate_limited ? "slow down, not sent: "
                                                         : "not sent to #" + request->room + ": ") +
            text;
        break;
      case RequestKind::remind:
        text = "reminder not set: " + text;
        break;
      case RequestKind::fetch:
        text = "fetch failed: " + text;
        break;
      case RequestKind::history_fill:
        // What was gathered and held is shown; live messages flow again.
        if (auto tracker = trackers_.find(request->room);
            tracker != trackers_.end() && tracker->second.filling())
          show_fill(request->room, tracker->second.cut_short(), request->from_user);
        text = "#" + request->room + ": the history did not come: " + text;
        break;
      default:
        break;
    }
  }
  if (!options_.json)
    show(renderer_.error(text + " [" + std::string(protocol::to_string(e.code)) + "]"));
}

//------------------------------------------------------------------------------ output

void Session::show(const std::string& line) {
  if (!options_.json) console_.print(line);
}

void Session::notice(const std::string& text) {
  if (scripted_ || options_.json)
    console_.status(renderer_.notice(text));
  else
    console_.print(renderer_.notice(text));
}

void Session::local_error(const std::string& text) {
  console_.status(renderer_.error(text));
}

void Session::update_prompt() {
  std::string_view state = online_ ? "" : ever_online_ ? "offline" : "connecting";
  Renderer::Prompt prompt = renderer_.prompt(current_, state);
  console_.set_prompt(std::move(prompt.text), prompt.columns);
}

bool Session::joined(const std::string& room) const {
  return std::find(rooms_.begin(), rooms_.end(), room) != rooms_.end();
}

}  // namespace loopchat::cli
