#include "server/engine/redis_engine.hpp"

#include <algorithm>

#include "common/codec.hpp"
#include "server/ops/log.hpp"

namespace loopchat {
namespace {

// INCR, XADD and PUBLISH as one step. The payload is the encoded message
// with its seq put between prefix and suffix, so every node delivers the
// same bytes and history holds them as sent. The epoch is the room's
// history generation: a new one when the seq counter starts over (its keys
// were lost: FLUSHALL, a failover without them).
constexpr const char* kPublishScript = R"lua(
local seq = redis.call('INCR', KEYS[1])
local epoch = redis.call('GET', KEYS[3])
if not epoch then
  epoch = ARGV[5]
  redis.call('SET', KEYS[3], epoch)
end
local payload = ARGV[2] .. seq .. ARGV[3]
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], seq .. '-1', 'm', payload)
redis.call('PUBLISH', ARGV[1], payload)
return {seq, epoch}
)lua";

// Keys of one room, with a hash tag so that a Redis Cluster keeps them on one shard.
std::string key(const std::string& room, const char* what) {
  return "loopchat:{" + room + "}:" + what;
}
std::string channel(const std::string& room) {
  return "loopchat:{" + room + "}";
}
std::string room_of_channel(std::string_view channel) {
  // loopchat:{ROOM}
  constexpr std::string_view head = "loopchat:{";
  if (channel.size() < head.size() + 1 || channel.substr(0, head.size()) != head) return {};
  return std::string(channel.substr(head.size(), channel.size() - head.size() - 1));
}

std::string random_epoch() {
  static std::uint64_t state =
      static_cast<std::uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
  state = state * 6364136223846793005ULL + 1442695040888963407ULL;  // a fresh id, not a secret
  return std::to_string(state >> 16);
}

}  // namespace

RedisEngine::RedisEngine(asio::io_context& io, const Config& config, Metrics& metrics)
    : io_(io),
      config_(config),
      metrics_(metrics),
      commands_(io, config.redis.endpoint, std::chrono::milliseconds(config.redis.timeout_ms),
                [this](const std::string& why) { on_lost(why); }),
      subscriptions_(io, config.redis.endpoint, std::chrono::milliseconds(config.redis.timeout_ms),
                     [this](const std::string& why) { on_lost(why); }),
      reconnect_timer_(io) {}

void RedisEngine::start(std::function<void(const std::string&)> done) {
  commands_.connect([this, done](const std::string& error) {
    if (!error.empty()) return done(error);
    // The node's number, once (guest names); a reconnect keeps it.
    std::vector<std::string> hello = {"PING"};
    if (node_number_ == 0) hello = {"INCR", "loopchat:nodes"};
    commands_.command(hello, [this, done](const redisReply* reply, std::string_view error) {
      if (!error.empty()) return done(std::string(error));
      if (node_number_ == 0 && reply != nullptr && reply->type == REDIS_REPLY_INTEGER)
        node_number_ = reply->integer;
      subscriptions_.connect([this, done](const std::string& error) {
        if (error.empty()) lost_why_.clear();
        done(error);
      });
    });
  });
}

void RedisEngine::stop() {
  stopped_ = true;
  reconnect_timer_.cancel();
  commands_.drop("stopping");
  subscriptions_.drop("stopping");
}

Engine::Published RedisEngine::publish(Room& room, protocol::Message message) {
  if (!healthy())
    return {protocol::Error{
                protocol::ErrorCode::server_busy,
                "the cluster's message log (Redis) is unreachable: " + lost_why_ + "; try again",
                message.id},
            0};
  message.seq = 0;  // the placeholder the script replaces
  std::string encoded = protocol::encode(message);
  std::size_t at = encoded.find("\"seq\":0");  // keys are written before values: never in a string
  std::string prefix = encoded.substr(0, at + 6), suffix = encoded.substr(at + 7);
  commands_.command({"EVAL", kPublishScript, "3", key(room.name(), "seq"), key(room.name(), "log"),
                     key(room.name(), "epoch"), channel(room.name()), prefix, suffix,
                     std::to_string(config_.redis.history_max), random_epoch()},
                    [this](const redisReply*, std::string_view error) {
                      // Delivered when it comes back on the channel; a failure here is
                      // counted (the sender sees no echo, as with a lost message).
                      if (!error.empty()) {
                        metrics_.store.failures += 1;
                        log::warn("redis: publish failed: ", error);
                      }
                    });
  return {std::nullopt, 0};
}

std::size_t RedisEngine::broadcast(Room& room, const FramePtr& frame, const Participant* except) {
  return room.broadcast(frame, except);  // presence stays local for now (docs/cluster.md)
}

void RedisEngine::member_joined(Room& room, Participant&) {
  if (room.size() != 1) return;
  local_rooms_[room.name()] = &room;
  if (!channels_.contains(room.name())) subscribe(room.name());
  // else: subscribed already, or an UNSUBSCRIBE is under way and its
  // confirmation subscribes again (one command per channel in flight).
}

void RedisEngine::member_left(Room& room, Participant&) {
  if (!room.empty()) return;
  local_rooms_.erase(room.name());
  auto it = channels_.find(room.name());
  if (it != channels_.end() && it->second == ChannelState::subscribed) unsubscribe(room.name());
  // subscribing: unsubscribed when the subscription is confirmed
}

void RedisEngine::unsubscribe(const std::string& room) {
  channels_[room] = ChannelState::unsubscribing;
  subscriptions_.send_unanswered({"UNSUBSCRIBE", channel(room)});
}

// A channel's replies all come to its SUBSCRIBE's callback: the
// confirmation, every message, and the confirmation of its UNSUBSCRIBE.
void RedisEngine::subscribe(const std::string& room) {
  channels_[room] = ChannelState::subscribing;
  subscriptions_.command(
      {"SUBSCRIBE", channel(room)},
      [this](const redisReply* reply, std::string_view error) {
        if (!error.empty() || reply == nullptr || reply->type != REDIS_REPLY_ARRAY ||
            reply->elements != 3 || reply->element[0]->type != REDIS_REPLY_STRING)
          return;
        std::string_view kind(reply->element[0]->str, reply->element[0]->len);
        std::string room =
            room_of_channel(std::string_view(reply->element[1]->str, reply->element[1]->len));
        bool wanted = local_rooms_.contains(room);
        if (kind == "subscribe") {
          channels_[room] = ChannelState::subscribed;
          if (!wanted) unsubscribe(room);  // its last member left meanwhile
        } else if (kind == "unsubscribe") {
          channels_.erase(room);
          // A member joined meanwhile: subscribe again, but after hiredis has
          // finished with this reply (it drops the channel's callback).
          if (wanted)
            asio::post(io_, [this, room] {
              if (local_rooms_.contains(room) && !channels_.contains(room)) subscribe(room);
            });
        } else if (kind == "message" && wanted) {
          FramePtr frame = Frame::text(std::string(reply->element[2]->str, reply->element[2]->len));
          metrics_.messages_out += local_rooms_[room]->broadcast(frame);
        }
      },
      true);
}

void RedisEngine::read_history(const std::string& room, const HistoryQuery& query,
                               Participant& asker, HistoryAnswer answer) {
  std::size_t cap = std::min<std::size_t>(query.limit, config_.store.max_rows_per_read);
  bool nothing_before = query.before_seq && *query.before_seq <= 1;
  if (cap == 0 || nothing_before || !commands_.connected()) return answer(HistorySlice{});
  bool from_oldest = query.since_seq.has_value();
  // Entry ids are SEQ-1: the seq range [since + 1, before - 1] as ids.
  std::string low = query.since_seq ? std::to_string(*query.since_seq + 1) + "-0" : "-";
  std::string high = query.before_seq ? std::to_string(*query.before_seq - 1) + "-1" : "+";
  auto& token = askers_[&asker];
  if (!token) token = std::make_shared<bool>(true);
  std::vector<std::string> args =
      from_oldest ? std::vector<std::string>{"XRANGE", key(room, "log"), low,
                                             high,     "COUNT",          std::to_string(cap)}
                  : std::vector<std::string>{"XREVRANGE", key(room, "log"), high,
                                             low,         "COUNT",          std::to_string(cap)};
  commands_.command(args, [alive = std::weak_ptr<bool>(token), answer = std::move(answer), cap,
                           limit = query.limit, max_bytes = query.max_bytes,
                           from_oldest](const redisReply* reply, std::string_view error) {
    if (alive.expired()) return;  // the asker is gone
    HistorySlice slice;
    if (!error.empty() || reply == nullptr || reply->type != REDIS_REPLY_ARRAY)
      return answer(std::move(slice));
    std::size_t bytes = 0;
    for (std::size_t i = 0; i < reply->elements; ++i) {
      const redisReply* entry = reply->element[i];  // [id, [field, value]]
      if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 2) continue;
      const redisReply* fields = entry->element[1];
      if (fields->type != REDIS_REPLY_ARRAY || fields->elements < 2) continue;
      std::string payload(fields->element[1]->str, fields->element[1]->len);
      if (bytes + payload.size() + 1 > max_bytes) {
        slice.truncated = true;
        break;
      }
      bytes += payload.size() + 1;
      slice.storage.push_back(std::move(payload));
    }
    if (slice.storage.size() == cap && cap < limit) slice.truncated = true;
    if (!from_oldest) std::reverse(slice.storage.begin(), slice.storage.end());
    for (const std::string& payload : slice.storage) slice.messages.push_back(payload);
    answer(std::move(slice));
  });
}

void RedisEngine::on_lost(const std::string& why) {
  if (stopped_ || reconnecting_) return;
  if (lost_why_.empty())
    log::error("redis: connection lost (", why, "): say answers server_busy until it is back");
  lost_why_ = why;
  commands_.drop(why);
  subscriptions_.drop(why);
  reconnect();
}

void RedisEngine::reconnect() {
  if (stopped_) return;
  backoff_ = std::clamp(backoff_ * 2, std::chrono::milliseconds(config_.redis.backoff_initial_ms),
                        std::chrono::milliseconds(config_.redis.backoff_max_ms));
  reconnecting_ = true;
  reconnect_timer_.expires_after(backoff_);
  reconnect_timer_.async_wait([this](std::error_code ec) {
    if (ec || stopped_) return;
    start([this](const std::string& error) {
      reconnecting_ = false;
      if (!error.empty()) {
        reconnecting_ = true;  // the drops below report losses: this is one of them
        lost_why_ = error;
        commands_.drop(error);
        subscriptions_.drop(error);
        reconnecting_ = false;
        return reconnect();
      }
      backoff_ = std::chrono::milliseconds(0);
      log::info("redis: connected again; subscribing to ", local_rooms_.size(), " rooms");
      channels_.clear();  // the old connection's subscriptions ended with it
      for (const auto& [name, room] : local_rooms_) subscribe(name);
    });
  });
}

}  // namespace loopchat
