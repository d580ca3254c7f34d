// A chat room: its members, its message sequence and its recent history.
// A room never does I/O: broadcast() queues one shared frame to each member.
#pragma once

#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/chat/history_ring.hpp"
#include "server/chat/participant.hpp"
#include "server/transport/frame.hpp"

namespace loopchat {

class Room {
 public:
  Room(std::string name, std::size_t history_size)
      : name_(std::move(name)), history_(history_size) {}
  Room(const Room&) = delete;
  Room& operator=(const Room&) = delete;

  const std::string& name() const { return name_; }
  std::size_t size() const { return members_.size(); }
  bool empty() const { return members_.empty(); }

  void add(Participant& member);
  void remove(Participant& member);

  // Queues `frame` to every member but `except`. The frame is shared, not copied.
  std::size_t broadcast(const FramePtr& frame, const Participant* except = nullptr) const;

  std::uint64_t next_seq() { return ++seq_; }
  // Keeps the message of the last next_seq(): the history is contiguous in
  // seq, its newest message is seq_, so a seq maps to its place in the ring.
  void remember(FramePtr message);
  // Drops the oldest message kept (the server-wide history budget).
  void forget_oldest();
  bool has_history() const { return !history_.empty(); }
  std::size_t history_count() const { return history_.size(); }
  // Bytes of the frames the history holds.
  std::size_t history_bytes() const { return history_bytes_; }

  // A `history` answer's messages: at most `limit`, with seq < before_seq and
  // seq > since_seq when given, whose payloads plus a separator each fit in
  // `max_bytes`. With since_seq the oldest such messages, otherwise the
  // newest; always oldest first. `truncated` when the bytes left some out.
  struct HistoryQuery {
    std::size_t limit = 0;
    std::optional<std::uint64_t> before_seq = std::nullopt;
    std::optional<std::uint64_t> since_seq = std::nullopt;
    std::size_t max_bytes = SIZE_MAX;
  };
  struct HistorySlice {
    std::vector<std::string_view> messages;
    bool truncated = false;
  };
  HistorySlice history(const HistoryQuery& query) const;

  // Where the hub keeps this room in its list of empty rooms (eviction order)
  // and, while it has history, in its list by last message (trimming order).
  std::list<Room*>::iterator empty_position;
  std::list<Room*>::iterator history_position;

 private:
  std::string name_;
  std::vector<Participant*> members_;  // non-owning; a participant leaves before it dies
  std::uint64_t seq_ = 0;
  HistoryRing<FramePtr> history_;
  std::size_t history_bytes_ = 0;
};

}  // namespace loopchat
