// The engine of a cluster: any number of loopchat processes share rooms
// through Redis (docs/cluster.md). A room's order, history and fan-out are
// Redis's:
//
// - publish: one Lua script does INCR (the room's seq), XADD (its history,
//   a stream whose entry ids are the seqs) and PUBLISH (its channel), so a
//   seq, its history entry and its fan-out are one atomic step;
// - every node, the sender's own included, delivers a message only when it
//   arrives on the room's channel: all members everywhere see one order;
// - a node subscribes to a room's channel on the room's first local member
//   and unsubscribes on its last;
// - history is read from the stream by seq range (XRANGE / XREVRANGE).
//
// Two connections: one for commands, one for the subscriptions (a
// subscribed Redis connection takes no other commands). When either is
// lost, `say` answers server_busy, and the engine reconnects with backoff
// and subscribes again; clients fill what they missed by seq.
#pragma once

#include <asio.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <unordered_map>

#include "server/config.hpp"
#include "server/engine/engine.hpp"
#include "server/ops/metrics.hpp"
#include "server/redis/redis_connection.hpp"

namespace loopchat {

class RedisEngine final : public Engine {
 public:
  RedisEngine(asio::io_context& io, const Config& config, Metrics& metrics);
  // Connects both connections; `done` gets "" or why not (start: exit 1).
  void start(std::function<void(const std::string& error)> done);
  void stop();

  Published publish(Room& room, protocol::Message message) override;
  std::size_t broadcast(Room& room, const FramePtr& frame, const Participant* except) override;
  void member_joined(Room& room, Participant& member) override;
  void member_left(Room& room, Participant& member) override;
  std::size_t members(const Room& room) const override { return room.size(); }
  void read_history(const std::string& room, const HistoryQuery& query, Participant& asker,
                    HistoryAnswer answer) override;
  void forget(Participant& participant) override { askers_.erase(&participant); }
  void close_room(const std::string&) override {}
  // guest-NODE-: NODE from one INCR of loopchat:nodes when the node started.
  std::string guest_name_prefix() const override {
    return "guest-" + std::to_string(node_number_) + "-";
  }
  std::size_t history_bytes() const override { return 0; }
  bool durable() const override { return true; }
  std::string degraded() const override { return healthy() ? std::string() : lost_why_; }

 private:
  bool healthy() const { return commands_.connected() && subscriptions_.connected(); }
  void subscribe(const std::string& room);
  void unsubscribe(const std::string& room);
  void on_lost(const std::string& why);
  void reconnect();

  asio::io_context& io_;
  const Config& config_;
  Metrics& metrics_;
  RedisConnection commands_;
  RedisConnection subscriptions_;
  // Rooms with local members, by name: where a channel's messages go.
  std::unordered_map<std::string, Room*> local_rooms_;
  // Each channel with a SUBSCRIBE or UNSUBSCRIBE sent: at most one in
  // flight per channel, so a member who leaves and one who joins at once
  // cannot leave the node unsubscribed (hiredis keeps one callback per
  // channel).
  enum class ChannelState { subscribing, subscribed, unsubscribing };
  std::unordered_map<std::string, ChannelState> channels_;
  // A token per participant with a history read in flight: forget() drops
  // it, and a late answer finds it expired.
  std::unordered_map<Participant*, std::shared_ptr<bool>> askers_;
  std::string lost_why_ = "not connected yet";
  asio::steady_timer reconnect_timer_;
  std::chrono::milliseconds backoff_{0};
  std::int64_t node_number_ = 0;
  bool reconnecting_ = false;  // a reconnect is waiting or under way
  bool stopped_ = false;
};

}  // namespace loopchat
