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
// - history is read from the stream by seq range (XRANGE / XREVRANGE);
// - names, room members and presence are the cluster's: each node keeps its
//   members in Redis under its number, refreshes a lease on them
//   (heartbeat), and reaps the members of a node whose lease ran out,
//   telling their rooms that they left.
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
#include <unordered_set>

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
  std::size_t member_joined(Room& room, Participant& member, RoomAnswer answer) override;
  std::size_t member_left(Room& room, Participant& member, RoomAnswer answer) override;
  RoomView view(const Room& room) const override;
  void claim_name(Participant& member, const std::string& name, const protocol::RequestId& id,
                  NameAnswer answer) override;
  Totals totals(const Totals& here) const override;
  void read_history(const std::string& room, const HistoryQuery& query, Participant& asker,
                    HistoryAnswer answer) override;
  void who(const std::string& room, const Room* here, const WhoQuery& query, Participant& asker,
           WhoAnswer answer) override;
  void forget(Participant& participant) override;
  void close_room(const std::string&) override {}
  // guest-NODE-: NODE from one INCR of loopchat:nodes when the node started.
  // Names of that form are not claimable (claim_name), so guests need no claim.
  std::string guest_name_prefix() const override { return "guest-" + node_ + "-"; }
  std::size_t history_bytes() const override { return 0; }
  bool durable() const override { return true; }
  std::string degraded() const override { return healthy() ? std::string() : lost_why_; }

 private:
  // A room with members on this node.
  struct LocalRoom {
    Room* room = nullptr;
    RoomView view;  // as the last join or leave script saw it
    // Join answers waiting for the room's subscription: `joined` promises
    // that the member gets the room's messages from then on.
    std::vector<std::function<void()>> on_subscribed;
  };

  bool healthy() const { return commands_.connected() && subscriptions_.connected(); }
  void subscribe(const std::string& room);
  void unsubscribe(const std::string& room);
  void on_channel_message(const std::string& room, std::string_view payload);
  void answer_waiting_joins(LocalRoom& room);
  void send_join(const std::string& room, const std::string& name, RoomAnswer answer);
  void send_claim(const std::string& name, const std::string& old_name,
                  const std::vector<std::string>& rooms, std::function<void(bool)> answer);
  void forget_name(const std::string& name);
  std::string node_key(const char* what) const;  // loopchat:node:NODE:WHAT
  void heartbeat();
  void register_again();
  void on_lost(const std::string& why);
  void reconnect();
  // A token per participant with an answer in flight: forget() drops it,
  // and a late answer finds it expired.
  std::weak_ptr<bool> token(Participant& participant);

  asio::io_context& io_;
  const Config& config_;
  Metrics& metrics_;
  RedisConnection commands_;
  RedisConnection subscriptions_;
  std::unordered_map<std::string, LocalRoom> local_rooms_;
  // Each channel with a SUBSCRIBE or UNSUBSCRIBE sent: at most one in
  // flight per channel, so a member who leaves and one who joins at once
  // cannot leave the node unsubscribed (hiredis keeps one callback per
  // channel).
  enum class ChannelState { subscribing, subscribed, unsubscribing };
  std::unordered_map<std::string, ChannelState> channels_;
  std::unordered_map<Participant*, std::shared_ptr<bool>> tokens_;
  std::unordered_set<Participant*> claiming_;      // one nick in flight per participant
  std::unordered_set<std::string> claimed_names_;  // this node's names in loopchat:names
  std::string lost_why_ = "not connected yet";
  asio::steady_timer reconnect_timer_;
  asio::steady_timer heartbeat_timer_;
  std::chrono::milliseconds backoff_{0};
  std::string node_;  // this node's number, as a string: its keys and its members' owner
  // The cluster as the last heartbeat saw it (stats).
  std::uint64_t other_connections_ = 0, cluster_rooms_ = 0;
  bool have_totals_ = false;
  bool reconnecting_ = false;  // a reconnect is waiting or under way
  bool stopped_ = false;
};

}  // namespace loopchat
