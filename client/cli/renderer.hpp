// How events look on screen: times, senders, rooms, and colours when they
// are wanted. Pure formatting; every string from the network goes through
// sanitize() so that a message cannot drive the terminal.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/protocol.hpp"

namespace loopchat::cli {

// Who is looking: decides the [room] prefix and which messages are one's own.
struct View {
  std::string_view current_room;
  std::string_view my_name;
};

class Renderer {
 public:
  explicit Renderer(bool color) : color_(color) {}
  bool color() const { return color_; }

  // "12:34:56 <alice> hi", with "[room] " after the time when not current.
  std::string message(const protocol::Message& m, const View& view) const;
  std::string presence(const protocol::Presence& p, const View& view) const;
  std::string reminder(const protocol::Reminder& r) const;
  std::string fetched(const protocol::Fetched& f) const;
  std::string stats(const protocol::Stats& s) const;
  std::string who(const protocol::Who& w) const;
  // "12:34:56 -- text": connection state, joins, answers to commands.
  std::string notice(std::string_view text) const;
  // "12:34:56 !! text": errors, from the server or local.
  std::string error(std::string_view text) const;
  // Text printed as is (help), dimmed.
  std::string plain(std::string_view text) const;

  struct Prompt {
    std::string text;
    std::size_t columns = 0;
  };
  // `state` ("offline", "connecting") is shown first when not empty.
  Prompt prompt(std::string_view room, std::string_view state) const;

  // HH:MM:SS in local time.
  static std::string clock(std::int64_t unix_ms);
  static std::int64_t now_ms();
  // Control characters shown as ^X (tab as a space); newlines kept.
  static std::string sanitize(std::string_view text);

 private:
  std::string paint(std::string_view sgr, std::string_view text) const;
  std::string stamp(std::int64_t unix_ms) const;
  bool color_;
};

}  // namespace loopchat::cli
