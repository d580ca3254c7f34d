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

// A member joins: the room's member hash (name -> node), the node's rooms,
// the cluster's rooms with members; a join presence to the others, in rooms
// of at most ARGV[6] others (0: any); the room's epoch, set if it has none.
constexpr const char* kJoinScript = R"lua(
local added = redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SADD', KEYS[3], ARGV[3])
redis.call('SADD', KEYS[4], ARGV[3])
local members = redis.call('HLEN', KEYS[1])
local epoch = redis.call('GET', KEYS[2])
if not epoch then
  epoch = ARGV[7]
  redis.call('SET', KEYS[2], epoch)
end
local max = tonumber(ARGV[6])
if added == 1 and (max == 0 or members - 1 <= max) then
  redis.call('PUBLISH', ARGV[4], ARGV[5])
end
return {members, epoch}
)lua";

// A member leaves (only if this node holds it: a reaped member is gone already).
constexpr const char* kLeaveScript = R"lua(
local removed = 0
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  removed = redis.call('HDEL', KEYS[1], ARGV[1])
end
if ARGV[7] == '1' then redis.call('SREM', KEYS[2], ARGV[3]) end
local members = redis.call('HLEN', KEYS[1])
if members == 0 then redis.call('SREM', KEYS[3], ARGV[3]) end
local max = tonumber(ARGV[6])
if removed == 1 and (max == 0 or members <= max) then
  redis.call('PUBLISH', ARGV[4], ARGV[5])
end
return members
)lua";

// A name taken for this node (ARGV[3]) unless another node has it; the old
// name (ARGV[2]) released, and renamed in the member hashes KEYS[3..].
constexpr const char* kClaimScript = R"lua(
local owner = redis.call('HGET', KEYS[1], ARGV[1])
if owner and owner ~= ARGV[3] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('SADD', KEYS[2], ARGV[1])
if ARGV[2] ~= '' and redis.call('HGET', KEYS[1], ARGV[2]) == ARGV[3] then
  redis.call('HDEL', KEYS[1], ARGV[2])
  redis.call('SREM', KEYS[2], ARGV[2])
end
for i = 3, #KEYS do
  if redis.call('HGET', KEYS[i], ARGV[2]) == ARGV[3] then
    redis.call('HDEL', KEYS[i], ARGV[2])
    redis.call('HSET', KEYS[i], ARGV[1], ARGV[3])
  end
end
return 1
)lua";

constexpr const char* kReleaseScript = R"lua(
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then redis.call('HDEL', KEYS[1], ARGV[1]) end
redis.call('SREM', KEYS[2], ARGV[1])
return 1
)lua";

// The node's lease (a deadline on Redis's clock, so hosts' clocks do not
// matter) and connection count; then one node whose lease ran out is
// reaped: its members leave their rooms (with presence, as a leave), its
// names are freed. Returns {1 if this node was not known (new, or reaped
// while away: it must register its members again), the other nodes'
// connections, the rooms with members, the members reaped}.
constexpr const char* kHeartbeatScript = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local fresh = redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
-- After a flush the node counter is gone too: keep new nodes' numbers unique.
if fresh == 1 and tonumber(redis.call('GET', 'loopchat:nodes') or '0') < tonumber(ARGV[1]) then
  redis.call('SET', 'loopchat:nodes', ARGV[1])
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
local max = tonumber(ARGV[4])
local reaped = 0
for _, dead in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, 1)) do
  local node_rooms = 'loopchat:node:' .. dead .. ':rooms'
  local node_names = 'loopchat:node:' .. dead .. ':names'
  for _, room in ipairs(redis.call('SMEMBERS', node_rooms)) do
    local members = 'loopchat:{' .. room .. '}:members'
    local all = redis.call('HGETALL', members)
    local gone = {}
    for i = 1, #all, 2 do
      if all[i + 1] == dead then gone[#gone + 1] = all[i] end
    end
    for _, name in ipairs(gone) do redis.call('HDEL', members, name) end
    local left = redis.call('HLEN', members)
    if left == 0 then redis.call('SREM', 'loopchat:rooms', room) end
    if max == 0 or left <= max then
      for _, name in ipairs(gone) do
        redis.call('PUBLISH', 'loopchat:{' .. room .. '}',
          'p' .. cjson.encode({type = 'presence', room = room, name = name, event = 'leave'}))
      end
    end
    reaped = reaped + #gone
  end
  for _, name in ipairs(redis.call('SMEMBERS', node_names)) do
    if redis.call('HGET', 'loopchat:names', name) == dead then
      redis.call('HDEL', 'loopchat:names', name)
    end
  end
  redis.call('DEL', node_rooms, node_names)
  redis.call('ZREM', KEYS[1], dead)
  redis.call('HDEL', KEYS[2], dead)
end
local others = 0
local counts = redis.call('HGETALL', KEYS[2])
for i = 1, #counts, 2 do
  if counts[i] ~= ARGV[1] then others = others + tonumber(counts[i + 1]) end
end
return {fresh, others, redis.call('SCARD', 'loopchat:rooms'), reaped}
)lua";

// What a room's channel carries: a message as it is ('{', the bytes every
// member gets and history holds), or an event that is not history: 'p' then
// the frame for every member, '-NAME\n' then the frame for all but NAME.
std::string for_all(const Frame& frame) {
  return "p" + std::string(frame.payload());
}
std::string for_all_but(const std::string& name, const Frame& frame) {
  return "-" + name + "\n" + std::string(frame.payload());
}

constexpr const char* kNamesKey = "loopchat:names";
constexpr const char* kRoomsKey = "loopchat:rooms";
constexpr const char* kAliveKey = "loopchat:nodes:alive";
constexpr const char* kConnectionsKey = "loopchat:nodes:connections";

std::string reply_string(const redisReply* reply) {
  return reply != nullptr &&
                 (reply->type == REDIS_REPLY_STRING || reply->type == REDIS_REPLY_STATUS)
             ? std::string(reply->str, reply->len)
             : std::string();
}
std::uint64_t reply_integer(const redisReply* reply) {
  return reply != nullptr && reply->type == REDIS_REPLY_INTEGER && reply->integer > 0
             ? static_cast<std::uint64_t>(reply->integer)
             : 0;
}

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
      reconnect_timer_(io),
      heartbeat_timer_(io) {}

std::string RedisEngine::node_key(const char* what) const {
  return "loopchat:node:" + node_ + ":" + what;
}

void RedisEngine::start(std::function<void(const std::string&)> done) {
  commands_.connect([this, done](const std::string& error) {
    if (!error.empty()) return done(error);
    // The node's number, once (guest names, its keys); a reconnect keeps it.
    std::vector<std::string> hello = {"PING"};
    if (node_.empty()) hello = {"INCR", "loopchat:nodes"};
    commands_.command(hello, [this, done](const redisReply* reply, std::string_view error) {
      if (!error.empty()) return done(std::string(error));
      if (node_.empty()) node_ = std::to_string(reply_integer(reply));
      subscriptions_.connect([this, done](const std::string& error) {
        if (error.empty()) {
          lost_why_.clear();
          heartbeat();
        }
        done(error);
      });
    });
  });
}

void RedisEngine::stop() {
  stopped_ = true;
  reconnect_timer_.cancel();
  heartbeat_timer_.cancel();
  commands_.drop("stopping");
  subscriptions_.drop("stopping");
}

std::weak_ptr<bool> RedisEngine::token(Participant& participant) {
  auto& token = tokens_[&participant];
  if (!token) token = std::make_shared<bool>(true);
  return token;
}

void RedisEngine::forget(Participant& participant) {
  tokens_.erase(&participant);
  claiming_.erase(&participant);
  if (claimed_names_.contains(participant.name)) forget_name(participant.name);
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
                        ++metrics_.redis.publish_failures;
                        log::warn("redis: publish failed: ", error);
                      }
                    });
  return {std::nullopt, 0};
}

// Delivered by every node when it comes back on the channel, as messages are.
std::size_t RedisEngine::broadcast(Room& room, const FramePtr& frame, const Participant* except) {
  commands_.command({"PUBLISH", channel(room.name()),
                     except != nullptr ? for_all_but(except->name, *frame) : for_all(*frame)},
                    [](const redisReply*, std::string_view) {});
  return 0;
}

void RedisEngine::send_join(const std::string& room, const std::string& name, RoomAnswer answer) {
  FramePtr presence = presence_frame(room, name, protocol::PresenceEvent::join);
  commands_.command(
      {"EVAL", kJoinScript, "4", key(room, "members"), key(room, "epoch"), node_key("rooms"),
       kRoomsKey, name, node_, room, channel(room), for_all_but(name, *presence),
       std::to_string(config_.presence_max_members), random_epoch()},
      [this, room, answer = std::move(answer)](const redisReply* reply, std::string_view) {
        auto local = local_rooms_.find(room);
        RoomView view{local != local_rooms_.end() ? local->second.view.members : 0, {}};
        if (reply != nullptr && reply->type == REDIS_REPLY_ARRAY && reply->elements == 2) {
          view = {reply_integer(reply->element[0]), reply_string(reply->element[1])};
          if (local != local_rooms_.end()) local->second.view = view;
        }
        if (answer) answer(view);
      });
}

std::size_t RedisEngine::member_joined(Room& room, Participant& member, RoomAnswer answer) {
  LocalRoom& local = local_rooms_[room.name()];
  local.room = &room;
  if (room.size() == 1 && !channels_.contains(room.name())) subscribe(room.name());
  // else: subscribed already, or an UNSUBSCRIBE is under way and its
  // confirmation subscribes again (one command per channel in flight).
  send_join(room.name(), member.name,
            [this, alive = token(member), name = room.name(),
             answer = std::move(answer)](const RoomView& view) {
              auto give = [alive, answer, view] {
                if (!alive.expired()) answer(view);
              };
              auto local = local_rooms_.find(name);
              auto channel = channels_.find(name);
              bool subscribed =
                  channel != channels_.end() && channel->second == ChannelState::subscribed;
              if (local == local_rooms_.end() || subscribed || !healthy()) return give();
              local->second.on_subscribed.push_back(std::move(give));
            });
  return 0;
}

std::size_t RedisEngine::member_left(Room& room, Participant& member, RoomAnswer answer) {
  bool last_here = room.empty();
  if (last_here) {
    if (auto local = local_rooms_.find(room.name()); local != local_rooms_.end()) {
      answer_waiting_joins(local->second);
      local_rooms_.erase(local);
    }
    auto it = channels_.find(room.name());
    if (it != channels_.end() && it->second == ChannelState::subscribed) unsubscribe(room.name());
    // subscribing: unsubscribed when the subscription is confirmed
  }
  FramePtr presence = presence_frame(room.name(), member.name, protocol::PresenceEvent::leave);
  commands_.command(
      {"EVAL", kLeaveScript, "3", key(room.name(), "members"), node_key("rooms"), kRoomsKey,
       member.name, node_, room.name(), channel(room.name()), for_all(*presence),
       std::to_string(config_.presence_max_members), last_here ? "1" : "0"},
      [this, alive = token(member), name = room.name(), here = room.size(),
       answer = std::move(answer)](const redisReply* reply, std::string_view error) {
        RoomView view{error.empty() ? reply_integer(reply) : here, {}};
        if (auto local = local_rooms_.find(name); local != local_rooms_.end()) {
          view.epoch = local->second.view.epoch;
          if (error.empty()) local->second.view.members = view.members;
        }
        if (answer && !alive.expired()) answer(view);
      });
  return 0;
}

Engine::RoomView RedisEngine::view(const Room& room) const {
  auto local = local_rooms_.find(room.name());
  return local != local_rooms_.end() ? local->second.view : RoomView{room.size(), {}};
}

void RedisEngine::answer_waiting_joins(LocalRoom& room) {
  auto waiting = std::move(room.on_subscribed);
  room.on_subscribed.clear();
  for (auto& answer : waiting) answer();
}

void RedisEngine::send_claim(const std::string& name, const std::string& old_name,
                             const std::vector<std::string>& rooms,
                             std::function<void(bool)> answer) {
  std::vector<std::string> args = {"EVAL", kClaimScript, std::to_string(2 + rooms.size()),
                                   kNamesKey, node_key("names")};
  for (const std::string& room : rooms) args.push_back(key(room, "members"));
  args.insert(args.end(), {name, old_name, node_});
  commands_.command(args,
                    [answer = std::move(answer)](const redisReply* reply, std::string_view error) {
                      answer(error.empty() && reply_integer(reply) == 1);
                    });
}

void RedisEngine::claim_name(Participant& member, const std::string& name,
                             const protocol::RequestId& id, NameAnswer answer) {
  using protocol::ErrorCode;
  // Guests' names are made unique by their node's number, without a claim.
  if (name.starts_with("guest-"))
    return answer(protocol::Error{ErrorCode::name_taken,
                                  "names starting with guest- are given by the server", id});
  if (claiming_.contains(&member))
    return answer(protocol::Error{ErrorCode::rate_limited,
                                  "a nick of this connection is still being checked", id});
  if (!commands_.connected())
    return answer(protocol::Error{ErrorCode::server_busy,
                                  "names cannot be checked: " + lost_why_ + "; try again", id});
  claiming_.insert(&member);
  std::vector<std::string> rooms;
  for (const Participant::Membership& m : member.memberships) rooms.push_back(m.room->name());
  std::string old_name = member.name;
  send_claim(name, old_name, rooms,
             [this, alive = token(member), &member, name, old_name, id,
              answer = std::move(answer)](bool claimed) {
               if (alive.expired()) {
                 // Gone meanwhile: what it claimed is released with its lease, or now.
                 if (claimed) forget_name(name);
                 return;
               }
               claiming_.erase(&member);
               if (!claimed)
                 return answer(protocol::Error{ErrorCode::name_taken, name + " is taken", id});
               claimed_names_.erase(old_name);
               claimed_names_.insert(name);
               answer(std::nullopt);
             });
}

void RedisEngine::forget_name(const std::string& name) {
  claimed_names_.erase(name);
  commands_.command(
      {"EVAL", kReleaseScript, "2", kNamesKey, node_key("names"), name, node_},
      [](const redisReply*, std::string_view) {});  // a lost release: the lease frees it
}

Engine::Totals RedisEngine::totals(const Totals& here) const {
  if (!have_totals_) return here;
  return {here.connections + other_connections_, std::max(cluster_rooms_, here.rooms)};
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
        auto local = local_rooms_.find(room);
        bool wanted = local != local_rooms_.end();
        if (kind == "subscribe") {
          channels_[room] = ChannelState::subscribed;
          if (wanted)
            answer_waiting_joins(local->second);
          else
            unsubscribe(room);  // its last member left meanwhile
        } else if (kind == "unsubscribe") {
          channels_.erase(room);
          // A member joined meanwhile: subscribe again, but after hiredis has
          // finished with this reply (it drops the channel's callback).
          if (wanted)
            asio::post(io_, [this, room] {
              if (local_rooms_.contains(room) && !channels_.contains(room)) subscribe(room);
            });
        } else if (kind == "message" && wanted) {
          on_channel_message(room,
                             std::string_view(reply->element[2]->str, reply->element[2]->len));
        }
      },
      true);
}

void RedisEngine::on_channel_message(const std::string& room_name, std::string_view payload) {
  Room& room = *local_rooms_[room_name].room;
  if (payload.empty()) return;
  if (payload.front() == '{') {
    metrics_.messages_out += room.broadcast(Frame::text(std::string(payload)));
    return;
  }
  const Participant* except = nullptr;
  if (payload.front() == '-') {
    std::size_t end = payload.find('\n');
    if (end == std::string_view::npos) return;
    except = room.member_named(payload.substr(1, end - 1));
    payload.remove_prefix(end + 1);
  } else {
    payload.remove_prefix(1);  // 'p'
  }
  room.broadcast(Frame::text(std::string(payload)), except);
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
  std::vector<std::string> args =
      from_oldest ? std::vector<std::string>{"XRANGE", key(room, "log"), low,
                                             high,     "COUNT",          std::to_string(cap)}
                  : std::vector<std::string>{"XREVRANGE", key(room, "log"), high,
                                             low,         "COUNT",          std::to_string(cap)};
  // The epoch with the range, in one transaction: the answer's seqs are of that epoch.
  commands_.command({"MULTI"}, [](const redisReply*, std::string_view) {});
  commands_.command({"GET", key(room, "epoch")}, [](const redisReply*, std::string_view) {});
  commands_.command(args, [](const redisReply*, std::string_view) {});
  commands_.command({"EXEC"}, [alive = token(asker), answer = std::move(answer), cap,
                               limit = query.limit, max_bytes = query.max_bytes,
                               from_oldest](const redisReply* exec, std::string_view error) {
    if (alive.expired()) return;  // the asker is gone
    HistorySlice slice;
    if (!error.empty() || exec == nullptr || exec->type != REDIS_REPLY_ARRAY ||
        exec->elements != 2 || exec->element[1]->type != REDIS_REPLY_ARRAY)
      return answer(std::move(slice));
    slice.epoch = reply_string(exec->element[0]);
    const redisReply* reply = exec->element[1];
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

// The room's members on every node: its member hash's names.
void RedisEngine::who(const std::string& room, const Room*, const WhoQuery& query,
                      Participant& asker, WhoAnswer answer) {
  commands_.command({"HKEYS", key(room, "members")},
                    [alive = token(asker), query, answer = std::move(answer)](
                        const redisReply* reply, std::string_view) {
                      if (alive.expired()) return;
                      std::vector<std::string> names;
                      if (reply != nullptr && reply->type == REDIS_REPLY_ARRAY)
                        for (std::size_t i = 0; i < reply->elements; ++i)
                          names.push_back(reply_string(reply->element[i]));
                      answer(page_of_names(std::move(names), query));
                    });
}

// Every --redis-node-ttl-ms / 4: the lease, the cluster's totals, and a
// reap of one node whose lease ran out.
void RedisEngine::heartbeat() {
  heartbeat_timer_.cancel();
  commands_.command(
      {"EVAL", kHeartbeatScript, "2", kAliveKey, kConnectionsKey, node_,
       std::to_string(config_.redis.node_ttl_ms), std::to_string(metrics_.connections_open),
       std::to_string(config_.presence_max_members)},
      [this](const redisReply* reply, std::string_view error) {
        if (!error.empty() || reply == nullptr || reply->type != REDIS_REPLY_ARRAY ||
            reply->elements != 4)
          return;  // a lost connection: the reconnect beats again
        bool unknown = reply_integer(reply->element[0]) == 1;
        other_connections_ = reply_integer(reply->element[1]);
        cluster_rooms_ = reply_integer(reply->element[2]);
        have_totals_ = true;
        if (std::uint64_t reaped = reply_integer(reply->element[3]); reaped != 0) {
          ++metrics_.redis.nodes_reaped;
          metrics_.redis.members_reaped += reaped;
          log::info("redis: a node's lease ran out: ", reaped, " members left its rooms");
        }
        if (unknown) register_again();
        heartbeat_timer_.expires_after(std::chrono::milliseconds(config_.redis.node_ttl_ms / 4));
        heartbeat_timer_.async_wait([this](std::error_code ec) {
          if (!ec && !stopped_) heartbeat();
        });
      });
}

// Redis did not know this node (its lease ran out while it was away, or
// Redis lost its data): its members and names go back in, and the rooms
// hear of the members as joins where they had been reaped.
void RedisEngine::register_again() {
  std::size_t members = 0;
  for (const auto& [name, local] : local_rooms_)
    for (const Participant* member : local.room->members()) {
      send_join(name, member->name, nullptr);
      ++members;
    }
  for (const std::string& name : claimed_names_)
    send_claim(name, "", {}, [name](bool claimed) {
      if (!claimed)
        log::warn("redis: ", name, " was taken by another node while this one was away");
    });
  if (members != 0 || !claimed_names_.empty())
    log::info("redis: registered ", members, " memberships and ", claimed_names_.size(),
              " names again");
}

void RedisEngine::on_lost(const std::string& why) {
  if (stopped_ || reconnecting_) return;
  if (lost_why_.empty())
    log::error("redis: connection lost (", why, "): say answers server_busy until it is back");
  lost_why_ = why;
  ++metrics_.redis.connection_losses;
  heartbeat_timer_.cancel();
  commands_.drop(why);
  subscriptions_.drop(why);
  // Joins waiting for a subscription are answered: the gap is filled by seq.
  for (auto& [name, local] : local_rooms_) answer_waiting_joins(local);
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
