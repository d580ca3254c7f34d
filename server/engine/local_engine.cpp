#include "server/engine/local_engine.hpp"

#include <algorithm>

#include "common/codec.hpp"
#include "server/ops/log.hpp"

namespace loopchat {

RoomLog* LocalEngine::open_log(const std::string& room) {
  if (auto it = logs_.find(room); it != logs_.end()) return it->second.get();
  std::int64_t store_id = 0;
  std::uint64_t last_seq = 0;
  if (store_ != nullptr) {
    // Without its last seq the room cannot go on: a guess could hand out a
    // seq that clients saw before the restart.
    auto row = store_->open_room(room);
    if (!row) return nullptr;
    store_id = row->id;
    last_seq = row->last_seq;
  }
  auto log = std::make_unique<RoomLog>(config_.history_size, last_seq);
  log->store_id = store_id;
  return logs_.emplace(room, std::move(log)).first->second.get();
}

void LocalEngine::close_room(const std::string& room) {
  auto it = logs_.find(room);
  if (it == logs_.end()) return;
  RoomLog& log = *it->second;
  history_bytes_ -= log.bytes();
  if (log.has_history()) rooms_by_last_message_.erase(log.history_position);
  logs_.erase(it);
}

Engine::Published LocalEngine::publish(Room& room, protocol::Message message) {
  RoomLog* log = open_log(room.name());
  if (log == nullptr)
    return {protocol::Error{protocol::ErrorCode::server_busy,
                            "the history store cannot be read; try again", message.id},
            0};
  message.seq = log->next_seq();
  if (store_ != nullptr) {
    if (log->store_id == 0)  // the room could not be created in the store before: try again
      if (auto row = store_->open_room(room.name())) log->store_id = row->id;
    if (log->store_id != 0)
      store_->append(log->store_id, message);
    else
      ++metrics_.store.messages_unsaved;
  }
  // Encoded and framed once; every member (the sender too) gets these bytes.
  // The store commits before this turn's writes (WriteFlusher's barrier).
  FramePtr frame = Frame::text(protocol::encode(message));
  std::size_t delivered = room.broadcast(frame);
  remember(*log, std::move(frame));
  return {std::nullopt, delivered};
}

std::size_t LocalEngine::broadcast(Room& room, const FramePtr& frame, const Participant* except) {
  return room.broadcast(frame, except);
}

std::size_t LocalEngine::member_joined(Room& room, Participant& member, RoomAnswer answer) {
  std::size_t sent = 0;
  if (announces_presence(config_, room.size() - 1))
    sent = room.broadcast(presence_frame(room.name(), member.name, protocol::PresenceEvent::join),
                          &member);
  if (answer) answer(view(room));
  return sent;
}

std::size_t LocalEngine::member_left(Room& room, Participant& member, RoomAnswer answer) {
  std::size_t sent = 0;
  if (announces_presence(config_, room.size()))
    sent = room.broadcast(presence_frame(room.name(), member.name, protocol::PresenceEvent::leave),
                          nullptr);
  if (answer) answer(view(room));
  return sent;
}

// A room is in rooms_by_last_message_ exactly while it has history.
void LocalEngine::remember(RoomLog& log, FramePtr message) {
  bool had_history = log.has_history();
  history_bytes_ -= log.bytes();
  log.remember(std::move(message));
  history_bytes_ += log.bytes();
  if (had_history)
    rooms_by_last_message_.splice(rooms_by_last_message_.end(), rooms_by_last_message_,
                                  log.history_position);
  else if (log.has_history())
    log.history_position = rooms_by_last_message_.insert(rooms_by_last_message_.end(), &log);
  trim_history();
}

// Over --max-history-bytes: the oldest messages of the rooms least recently
// posted to go first (with a store they stay on disk). Each message is
// dropped once, so this costs O(1) per message, amortized.
void LocalEngine::trim_history() {
  while (history_bytes_ > config_.max_history_bytes && !rooms_by_last_message_.empty()) {
    RoomLog& log = *rooms_by_last_message_.front();
    history_bytes_ -= log.bytes();
    log.forget_oldest();
    history_bytes_ += log.bytes();
    metrics_.count_limit(Limit::history_bytes);
    if (!log.has_history()) rooms_by_last_message_.pop_front();
  }
}

void LocalEngine::read_history(const std::string& room, const HistoryQuery& query, Participant&,
                               HistoryAnswer answer) {
  HistorySlice slice;
  auto it = logs_.find(room);
  RoomLog* log = it == logs_.end() ? nullptr : it->second.get();
  std::optional<MessageStore::RoomRow> stored;
  if (store_ != nullptr && log == nullptr) stored = store_->find_room(room);
  std::uint64_t last_seq = log ? log->last_seq() : stored ? stored->last_seq : 0;
  std::int64_t store_id = log ? log->store_id : stored ? stored->id : 0;

  // The seqs asked for are [first, last]; memory holds [in_memory, last_seq].
  std::uint64_t first = query.since_seq ? *query.since_seq + 1 : 1;
  std::uint64_t last = last_seq;
  if (query.before_seq) last = std::min(last, *query.before_seq == 0 ? 0 : *query.before_seq - 1);
  std::uint64_t in_memory = log ? log->oldest_in_memory() : last_seq + 1;
  std::size_t cap = std::min<std::size_t>(query.limit, config_.store.max_rows_per_read);
  bool from_oldest = query.since_seq.has_value();
  if (first > last || cap == 0) return answer(std::move(slice));

  // Payloads in the order they are taken: the oldest first with since_seq,
  // otherwise the newest first. Stops at `cap` messages or `max_bytes`.
  std::vector<std::string_view> taken;
  std::size_t bytes = 0;
  auto take = [&](std::string_view payload) {
    if (taken.size() == cap) return false;
    if (bytes + payload.size() + 1 > query.max_bytes) {
      slice.truncated = true;
      return false;
    }
    bytes += payload.size() + 1;
    taken.push_back(payload);
    return true;
  };
  auto from_memory = [&] {
    std::uint64_t lo = std::max(first, in_memory);
    if (lo > last) return true;
    if (from_oldest) {
      for (std::uint64_t seq = lo; seq <= last; ++seq)
        if (!take(log->payload(seq))) return false;
    } else {
      for (std::uint64_t seq = last; seq >= lo; --seq)
        if (!take(log->payload(seq))) return false;
    }
    return true;
  };
  auto from_disk = [&] {
    if (store_ == nullptr || store_id == 0 || first >= in_memory) return true;
    std::uint64_t hi = std::min(last, in_memory - 1);
    auto rows = store_->read(store_id, first, hi, cap - taken.size(), !from_oldest);
    slice.storage.reserve(rows.size());  // `taken` views these strings: no reallocation
    for (MessageStore::Row& row : rows) {
      slice.storage.push_back(protocol::encode(
          protocol::Message{room, std::move(row.from), std::move(row.text), row.seq, row.ts, {}}));
      if (!take(slice.storage.back())) return false;
    }
    return true;
  };
  if (from_oldest) {
    if (from_disk()) from_memory();
  } else {
    if (from_memory()) from_disk();
  }
  if (taken.size() == cap && cap < query.limit) slice.truncated = true;
  if (!from_oldest) std::reverse(taken.begin(), taken.end());
  slice.messages = std::move(taken);
  answer(std::move(slice));
}

void LocalEngine::who(const std::string&, const Room* here, const WhoQuery& query, Participant&,
                      WhoAnswer answer) {
  std::vector<std::string> names;
  if (here != nullptr)
    for (const Participant* member : here->members()) names.push_back(member->name);
  answer(page_of_names(std::move(names), query));
}

std::string LocalEngine::degraded() const {
  return store_ == nullptr ? std::string() : store_->degraded();
}

}  // namespace loopchat
