#include "server/store/message_store.hpp"

#include <algorithm>

#include "server/ops/log.hpp"
#include "server/wall_clock.hpp"

namespace loopchat {
namespace {

// Each step of the schema, in order; PRAGMA user_version counts the steps
// applied. A released step is never edited: a change is a new step.
constexpr const char* kMigrations[] = {
    // 1: rooms and their messages, clustered by (room, seq).
    "CREATE TABLE rooms ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  last_seq INTEGER NOT NULL);"
    "CREATE TABLE messages ("
    "  room_id INTEGER NOT NULL,"
    "  seq INTEGER NOT NULL,"
    "  sender TEXT NOT NULL,"
    "  text TEXT NOT NULL,"
    "  sent_ms INTEGER NOT NULL,"
    "  PRIMARY KEY (room_id, seq)) WITHOUT ROWID;",
    // 2: messages in insertion order, found by an index on (room, seq). A
    // commit then appends to one table leaf instead of rewriting a leaf per
    // room posted to: about half the log volume (docs/persistence.md).
    "CREATE TABLE messages_by_arrival ("
    "  id INTEGER PRIMARY KEY,"
    "  room_id INTEGER NOT NULL,"
    "  seq INTEGER NOT NULL,"
    "  sender TEXT NOT NULL,"
    "  text TEXT NOT NULL,"
    "  sent_ms INTEGER NOT NULL);"
    "INSERT INTO messages_by_arrival (room_id, seq, sender, text, sent_ms)"
    "  SELECT room_id, seq, sender, text, sent_ms FROM messages ORDER BY sent_ms, room_id, seq;"
    "DROP TABLE messages;"
    "ALTER TABLE messages_by_arrival RENAME TO messages;"
    "CREATE UNIQUE INDEX messages_by_room_seq ON messages (room_id, seq);",
};
constexpr int kSchemaVersion = static_cast<int>(std::size(kMigrations));

const char* sync_pragma(const std::string& sync) {
  if (sync == "full") return "PRAGMA synchronous=FULL";
  if (sync == "off") return "PRAGMA synchronous=OFF";
  return "PRAGMA synchronous=NORMAL";
}

int on_wal_commit(void* store, sqlite3*, const char*, int pages);

}  // namespace

MessageStore::MessageStore(asio::io_context& io, const StoreSettings& settings, Metrics& metrics)
    : settings_(settings),
      metrics_(metrics),
      io_(io),
      db_path_(settings.data_dir + "/loopchat.db"),
      lock_(settings.data_dir),
      retention_timer_(io) {
  try {
    db_ = std::make_unique<sqlite::Database>(db_path_);
    // The first statement reads the header: a file that is not a database fails here.
    db_->exec("PRAGMA journal_mode=WAL");
    db_->exec(sync_pragma(settings.sync));
    db_->exec("PRAGMA wal_autocheckpoint=0");  // checkpoints are ours, on the loop
    db_->exec("PRAGMA journal_size_limit=67108864");
    migrate();
    insert_message_ = std::make_unique<sqlite::Statement>(
        *db_, "INSERT INTO messages (room_id, seq, sender, text, sent_ms) VALUES (?, ?, ?, ?, ?)");
    // A room's last seq is its newest stored message's; rooms.last_seq only
    // keeps what rows cannot show (seqs of messages never stored, or deleted
    // by age), so a commit does not rewrite the rooms table.
    find_room_ = std::make_unique<sqlite::Statement>(*db_, R"(
        SELECT id, max(last_seq, coalesce((SELECT max(seq) FROM messages WHERE room_id = rooms.id), 0))
        FROM rooms WHERE name = ?)");
    insert_room_ = std::make_unique<sqlite::Statement>(
        *db_, "INSERT INTO rooms (name, last_seq) VALUES (?, 0)");
    update_room_seq_ = std::make_unique<sqlite::Statement>(
        *db_, "UPDATE rooms SET last_seq = max(last_seq, ?2) WHERE id = ?1");
    read_oldest_ = std::make_unique<sqlite::Statement>(
        *db_,
        "SELECT seq, sender, text, sent_ms FROM messages WHERE room_id = ? AND seq BETWEEN ? AND ? "
        "ORDER BY seq LIMIT ?");
    read_newest_ = std::make_unique<sqlite::Statement>(
        *db_,
        "SELECT seq, sender, text, sent_ms FROM messages WHERE room_id = ? AND seq BETWEEN ? AND ? "
        "ORDER BY seq DESC LIMIT ?");
    first_seq_ = std::make_unique<sqlite::Statement>(
        *db_, "SELECT seq FROM messages WHERE room_id = ? ORDER BY seq LIMIT 1");
    delete_below_ = std::make_unique<sqlite::Statement>(
        *db_, "DELETE FROM messages WHERE room_id = ? AND seq >= ? AND seq < ?");
    delete_older_ = std::make_unique<sqlite::Statement>(
        *db_, "DELETE FROM messages WHERE room_id = ? AND seq >= ? AND seq < ? AND sent_ms < ?");
    rooms_after_ = std::make_unique<sqlite::Statement>(*db_, R"(
        SELECT id, max(last_seq, coalesce((SELECT max(seq) FROM messages WHERE room_id = rooms.id), 0))
        FROM rooms WHERE id > ? ORDER BY id LIMIT ?)");
  } catch (const sqlite::Error& e) {
    throw StoreOpenError("cannot use database " + db_path_ + ": " + e.what());
  }
  sqlite3_wal_hook(db_->handle(), on_wal_commit, this);
}

MessageStore::~MessageStore() {
  commit();
  if (degraded_.empty()) checkpoint();
}

void MessageStore::migrate() {
  sqlite::Statement version(*db_, "PRAGMA user_version");
  version.step();
  auto applied = static_cast<int>(version.integer(0));
  version.reset();
  if (applied > kSchemaVersion)
    throw sqlite::Error(SQLITE_ERROR, "schema version " + std::to_string(applied) +
                                          " is newer than this server's (" +
                                          std::to_string(kSchemaVersion) + ")");
  for (int step = applied; step < kSchemaVersion; ++step) {
    db_->exec("BEGIN");
    db_->exec(kMigrations[step]);
    db_->exec(("PRAGMA user_version=" + std::to_string(step + 1)).c_str());
    db_->exec("COMMIT");
    log::info("database ", db_path_, ": schema migrated to version ", step + 1);
  }
}

void MessageStore::start() {
  arm_retention();
}

void MessageStore::stop() {
  stopped_ = true;
  retention_timer_.cancel();
}

// ------------------------------------------------------------------ writing

void MessageStore::begin_if_needed() {
  if (in_transaction_) return;
  db_->exec("BEGIN");
  in_transaction_ = true;
}

// The room's row, or nullopt if it has none; throws sqlite::Error.
std::optional<MessageStore::RoomRow> MessageStore::lookup_room(std::string_view name) {
  find_room_->bind(1, name);
  std::optional<RoomRow> row;
  if (find_room_->step())
    row = RoomRow{find_room_->integer(0), static_cast<std::uint64_t>(find_room_->integer(1))};
  find_room_->reset();
  if (row)  // a seq handed out but not yet on disk counts too
    if (auto it = unsaved_room_seqs_.find(row->id); it != unsaved_room_seqs_.end())
      row->last_seq = std::max(row->last_seq, it->second);
  return row;
}

std::optional<MessageStore::RoomRow> MessageStore::find_room(std::string_view name) {
  try {
    return lookup_room(name);
  } catch (const sqlite::Error& e) {
    read_failed(e);
    return std::nullopt;
  }
}

std::optional<MessageStore::RoomRow> MessageStore::open_room(std::string_view name) {
  try {
    if (auto row = lookup_room(name)) return row;
  } catch (const sqlite::Error& e) {
    read_failed(e);
    return std::nullopt;
  }
  // A new room: its row joins this turn's transaction, unless the store is
  // not writing (then id 0: not stored yet, tried again with its next message).
  if (transaction_failed_ || waiting_to_retry()) return RoomRow{0, 0};
  try {
    begin_if_needed();
    insert_room_->bind(1, name).step();
    insert_room_->reset();
    return RoomRow{sqlite3_last_insert_rowid(db_->handle()), 0};
  } catch (const sqlite::Error& e) {
    transaction_failed_ = true;  // commit() reports it and rolls back
    fail_reason_ = e.what();
    return RoomRow{0, 0};
  }
}

void MessageStore::read_failed(const sqlite::Error& e) {
  log::warn("database ", db_path_, ": cannot read: ", e.what());
  ++metrics_.store.read_failures;
}

bool MessageStore::waiting_to_retry() const {
  return !degraded_.empty() && std::chrono::steady_clock::now() < retry_at_;
}

void MessageStore::append(std::int64_t room_id, const protocol::Message& message) {
  if (waiting_to_retry()) {
    // Waiting before the next try: counted now, nothing is attempted.
    unsaved_room_seqs_[room_id] = message.seq;
    ++metrics_.store.messages_unsaved;
    return;
  }
  transaction_room_seqs_[room_id] = message.seq;
  ++pending_messages_;
  if (transaction_failed_) return;  // counted as unsaved at commit()
  try {
    begin_if_needed();
    insert_message_->bind(1, room_id)
        .bind(2, static_cast<std::int64_t>(message.seq))
        .bind(3, message.from)
        .bind(4, message.text)
        .bind(5, message.ts)
        .step();
    insert_message_->reset();
  } catch (const sqlite::Error& e) {
    transaction_failed_ = true;
    fail_reason_ = e.what();
  }
}

void MessageStore::write_room_seqs() {
  for (const auto& [room_id, seq] : unsaved_room_seqs_) {
    update_room_seq_->bind(1, room_id).bind(2, static_cast<std::int64_t>(seq)).step();
    update_room_seq_->reset();
  }
}

void MessageStore::commit() {
  if (!in_transaction_) {
    // BEGIN itself failed; or nothing was attempted (waiting to retry), and
    // those messages are counted already.
    if (transaction_failed_) fail("write", fail_reason_);
    return;
  }
  if (transaction_failed_) return fail("write", fail_reason_);
  auto started = std::chrono::steady_clock::now();
  try {
    write_room_seqs();
    db_->exec("COMMIT");
  } catch (const sqlite::Error& e) {
    return fail("commit", e.what());
  }
  in_transaction_ = false;
  metrics_.store.commits += 1;
  metrics_.store.messages_saved += pending_messages_;
  metrics_.store.note_commit(std::chrono::steady_clock::now() - started);
  pending_messages_ = 0;
  unsaved_room_seqs_.clear();
  transaction_room_seqs_.clear();
  if (!degraded_.empty()) recovered();
}

void MessageStore::fail(std::string_view what, const std::string& reason) {
  if (!sqlite3_get_autocommit(db_->handle())) {
    try {
      db_->exec("ROLLBACK");
    } catch (const sqlite::Error&) {  // SQLite may have rolled back already
    }
  }
  in_transaction_ = false;
  transaction_failed_ = false;
  metrics_.store.failures += 1;
  metrics_.store.messages_unsaved += pending_messages_;
  pending_messages_ = 0;
  // Their rows are gone: their seqs go to rooms.last_seq with the next commit.
  for (const auto& [room_id, seq] : transaction_room_seqs_)
    unsaved_room_seqs_[room_id] = std::max(unsaved_room_seqs_[room_id], seq);
  transaction_room_seqs_.clear();
  if (degraded_.empty())
    log::error("database ", db_path_, ": ", what, " failed (", reason,
               "): chatting from memory, messages are not stored until it writes again");
  else
    log::warn("database ", db_path_, ": ", what, " still failing (", reason, ")");
  degraded_ = std::string(what) + " failed: " + reason;
  retry_at_ = std::chrono::steady_clock::now() + std::chrono::milliseconds(settings_.retry_ms);
}

void MessageStore::recovered() {
  log::info("database ", db_path_, ": writing again after: ", degraded_);
  degraded_.clear();
}

// ------------------------------------------------------------------ reading

std::vector<MessageStore::Row> MessageStore::read(std::int64_t room_id, std::uint64_t first,
                                                  std::uint64_t last, std::size_t limit,
                                                  bool newest_first) {
  std::vector<Row> rows;
  limit = std::min(limit, settings_.max_rows_per_read);
  if (limit == 0 || first > last) return rows;
  sqlite::Statement& query = newest_first ? *read_newest_ : *read_oldest_;
  try {
    query.bind(1, room_id)
        .bind(2, static_cast<std::int64_t>(first))
        .bind(3, static_cast<std::int64_t>(std::min<std::uint64_t>(last, INT64_MAX)))
        .bind(4, static_cast<std::int64_t>(limit));
    while (query.step())
      rows.push_back({static_cast<std::uint64_t>(query.integer(0)), std::string(query.text(1)),
                      std::string(query.text(2)), query.integer(3)});
    query.reset();
  } catch (const sqlite::Error& e) {
    read_failed(e);
    rows.clear();
  }
  return rows;
}

// ------------------------------------------------------- checkpoints, retention

namespace {
int on_wal_commit(void* store, sqlite3*, const char*, int pages) {
  static_cast<MessageStore*>(store)->wal_grew(pages);
  return SQLITE_OK;
}
}  // namespace

// Called by SQLite inside COMMIT: the checkpoint runs as its own task, after
// this turn's writes, not inside the commit that crossed the threshold.
void MessageStore::wal_grew(int pages) {
  if (checkpoint_posted_ || static_cast<std::size_t>(pages) < settings_.checkpoint_pages) return;
  checkpoint_posted_ = true;
  asio::post(io_, [this] {
    checkpoint_posted_ = false;
    commit();  // a checkpoint cannot run inside our own write transaction
    checkpoint();
  });
}

void MessageStore::checkpoint() {
  auto started = std::chrono::steady_clock::now();
  int rc = sqlite3_wal_checkpoint_v2(db_->handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr,
                                     nullptr);
  if (rc != SQLITE_OK) {
    log::warn("database ", db_path_, ": checkpoint failed: ", sqlite3_errmsg(db_->handle()));
    metrics_.store.failures += 1;
    return;
  }
  metrics_.store.checkpoints += 1;
  metrics_.store.note_checkpoint(std::chrono::steady_clock::now() - started);
}

void MessageStore::arm_retention() {
  if (stopped_ || (settings_.history_keep == 0 && settings_.history_max_age_s == 0)) return;
  retention_timer_.expires_after(std::chrono::milliseconds(settings_.retention_interval_ms));
  retention_timer_.async_wait([this](std::error_code ec) {
    if (ec || stopped_) return;
    retention_pass();
    arm_retention();
  });
}

std::size_t MessageStore::retention_pass() {
  if (waiting_to_retry()) return 0;
  std::size_t budget = settings_.retention_batch_rows, deleted = 0;
  std::int64_t age_cutoff_ms =
      settings_.history_max_age_s == 0
          ? 0
          : wall_clock_ms() - static_cast<std::int64_t>(settings_.history_max_age_s) * 1000;
  try {
    // The next rooms after the cursor; past the last room, from the first again.
    std::vector<RoomRow> rooms;
    for (int attempt = 0; attempt < 2 && rooms.empty(); ++attempt) {
      if (attempt == 1) retention_cursor_ = 0;
      rooms_after_->bind(1, retention_cursor_)
          .bind(2, static_cast<std::int64_t>(settings_.retention_rooms_per_pass));
      while (rooms_after_->step())
        rooms.push_back(
            {rooms_after_->integer(0), static_cast<std::uint64_t>(rooms_after_->integer(1))});
      rooms_after_->reset();
    }
    if (!rooms.empty()) retention_cursor_ = rooms.back().id;
    auto run = [&](sqlite::Statement& statement) {
      statement.step();
      statement.reset();
      auto changed = static_cast<std::size_t>(sqlite3_changes(db_->handle()));
      deleted += changed;
      budget -= std::min(budget, changed);
    };
    for (const RoomRow& room : rooms) {
      if (budget == 0) {
        retention_cursor_ = room.id - 1;  // this room first, next pass
        break;
      }
      first_seq_->bind(1, room.id);
      bool has_rows = first_seq_->step();
      auto first = has_rows ? static_cast<std::uint64_t>(first_seq_->integer(0)) : 0;
      first_seq_->reset();
      if (!has_rows) continue;
      std::uint64_t bound = first + budget;  // at most `budget` seqs from the oldest
      if (settings_.history_keep > 0 && room.last_seq > settings_.history_keep) {
        std::uint64_t keep_from = room.last_seq - settings_.history_keep + 1;
        if (first < keep_from) {
          begin_if_needed();
          delete_below_->bind(1, room.id)
              .bind(2, static_cast<std::int64_t>(first))
              .bind(3, static_cast<std::int64_t>(std::min(bound, keep_from)));
          run(*delete_below_);
        }
      }
      if (age_cutoff_ms > 0 && budget > 0) {
        begin_if_needed();
        // Age may take the newest row, which held the room's last seq.
        update_room_seq_->bind(1, room.id).bind(2, static_cast<std::int64_t>(room.last_seq)).step();
        update_room_seq_->reset();
        delete_older_->bind(1, room.id)
            .bind(2, static_cast<std::int64_t>(first))
            .bind(3, static_cast<std::int64_t>(bound))
            .bind(4, age_cutoff_ms);
        run(*delete_older_);
      }
    }
  } catch (const sqlite::Error& e) {
    transaction_failed_ = true;
    fail_reason_ = std::string("retention: ") + e.what();
  }
  metrics_.store.rows_deleted += deleted;
  commit();
  return deleted;
}

}  // namespace loopchat
