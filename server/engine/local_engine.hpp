// The engine of one process: a room's order and fan-out in memory, its
// recent history in a ring (RoomLog), and, unless --memory-only, every
// message in the SQLite store too. History older than the ring is read from
// the store; a room's seq continues from the store after a restart.
#pragma once

#include <list>
#include <memory>
#include <string>
#include <unordered_map>

#include "server/config.hpp"
#include "server/engine/engine.hpp"
#include "server/engine/room_log.hpp"
#include "server/ops/metrics.hpp"
#include "server/store/message_store.hpp"

namespace loopchat {

class LocalEngine final : public Engine {
 public:
  // `store` is null for --memory-only.
  LocalEngine(const Config& config, Metrics& metrics, MessageStore* store)
      : config_(config), metrics_(metrics), store_(store) {}

  Published publish(Room& room, protocol::Message message) override;
  std::size_t broadcast(Room& room, const FramePtr& frame, const Participant* except) override;
  // The Room is the member list: only presence to announce.
  std::size_t member_joined(Room& room, Participant& member, RoomAnswer answer) override;
  std::size_t member_left(Room& room, Participant& member, RoomAnswer answer) override;
  RoomView view(const Room& room) const override { return {room.size(), {}}; }
  // Unique here already: the hub checked this process's names.
  void claim_name(Participant&, const std::string&, const protocol::RequestId&,
                  NameAnswer answer) override {
    answer(std::nullopt);
  }
  void read_history(const std::string& room, const HistoryQuery& query, Participant& asker,
                    HistoryAnswer answer) override;
  void who(const std::string&, const Room* here, const WhoQuery& query, Participant&,
           WhoAnswer answer) override;
  void forget(Participant&) override {}  // every answer is given at once
  void close_room(const std::string& room) override;
  std::string guest_name_prefix() const override { return "guest-"; }
  std::size_t history_bytes() const override { return history_bytes_; }
  bool durable() const override { return store_ != nullptr; }
  std::string degraded() const override;

 private:
  // The room's log, created on first use (its seq from the store); nullptr
  // when the store cannot tell the room's last seq.
  RoomLog* open_log(const std::string& room);
  void remember(RoomLog& log, FramePtr message);
  void trim_history();

  const Config& config_;
  Metrics& metrics_;
  MessageStore* store_;
  std::unordered_map<std::string, std::unique_ptr<RoomLog>> logs_;
  // Rooms with history, least recently posted to first: trimmed first.
  std::list<RoomLog*> rooms_by_last_message_;
  std::size_t history_bytes_ = 0;
};

}  // namespace loopchat
