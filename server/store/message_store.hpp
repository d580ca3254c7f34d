// Every room's messages on disk: one SQLite database in the data folder,
// written by the loop itself (no second thread).
//
// Group commit: append() adds a message to the transaction of the current
// loop turn; commit() ends it, and runs before that turn's socket writes
// (WriteFlusher's barrier). So a message is in the database before any client
// can have received it, and `kill -9` at any instant loses nothing a client
// saw. What a power loss costs depends on --sync (docs/persistence.md).
//
// Faults at run time never stop the chat: a failed transaction is rolled
// back, its messages are counted as unsaved, the store reports degraded, and
// it tries again after store_retry_ms. Faults at start throw StoreOpenError,
// one line naming the path.
#pragma once

#include <asio.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/protocol.hpp"
#include "server/ops/metrics.hpp"
#include "server/store/data_dir_lock.hpp"
#include "server/store/sqlite.hpp"
#include "server/store/store_settings.hpp"

namespace loopchat {

struct StoreOpenError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class MessageStore {
 public:
  // Opens DIR/loopchat.db (creating DIR), locks the folder against a second
  // server, and creates or migrates the schema. Throws StoreOpenError.
  MessageStore(asio::io_context& io, const StoreSettings& settings, Metrics& metrics);
  // Commits what is pending and checkpoints the log into the database.
  ~MessageStore();
  MessageStore(const MessageStore&) = delete;
  MessageStore& operator=(const MessageStore&) = delete;

  // Starts the retention timer; stop() ends it (shutdown).
  void start();
  void stop();

  // A room's row: its id and the last seq it stored. A room is created on
  // first use (id 0 while the store is not writing); nullopt when the
  // store cannot read.
  struct RoomRow {
    std::int64_t id = 0;
    std::uint64_t last_seq = 0;
  };
  std::optional<RoomRow> open_room(std::string_view name);
  // nullopt for a room never stored, and when the store cannot read.
  std::optional<RoomRow> find_room(std::string_view name);

  // Adds a message to this turn's transaction (room from open_room).
  void append(std::int64_t room_id, const protocol::Message& message);
  // Ends this turn's transaction. Called before every socket write.
  void commit();

  // Stored messages of a room with first <= seq <= last, at most `limit`:
  // the oldest of them, or the newest when `newest_first` (then newest
  // first). Empty when the store cannot read.
  struct Row {
    std::uint64_t seq;
    std::string from;
    std::string text;
    std::int64_t ts;
  };
  std::vector<Row> read(std::int64_t room_id, std::uint64_t first, std::uint64_t last,
                        std::size_t limit, bool newest_first);

  // Why the store is not writing, or empty while it is.
  const std::string& degraded() const { return degraded_; }
  const std::string& path() const { return db_path_; }

  // One bounded pass of retention (the timer calls it): deletes at most
  // settings.retention_batch_rows rows. Returns the rows deleted.
  std::size_t retention_pass();

  // SQLite's WAL hook: the log holds `pages` pages after a commit.
  void wal_grew(int pages);

 private:
  void migrate();
  std::optional<RoomRow> lookup_room(std::string_view name);
  void read_failed(const sqlite::Error& e);
  // After a failed write, until retry_ms have passed: nothing is attempted.
  bool waiting_to_retry() const;
  void begin_if_needed();
  void fail(std::string_view what, const std::string& reason);
  void recovered();
  void write_room_seqs();
  void checkpoint();
  void arm_retention();

  const StoreSettings& settings_;
  Metrics& metrics_;
  asio::io_context& io_;
  std::string db_path_;
  DataDirLock lock_;  // before the database: held while it is open
  std::unique_ptr<sqlite::Database> db_;
  std::unique_ptr<sqlite::Statement> insert_message_, find_room_, insert_room_, update_room_seq_,
      read_oldest_, read_newest_, first_seq_, delete_below_, delete_older_, rooms_after_;

  bool in_transaction_ = false;
  std::uint64_t pending_messages_ = 0;  // appended into the open transaction
  bool transaction_failed_ = false;     // a statement failed: the rest of this turn is lost
  std::string fail_reason_;             // SQLite's message for that failure
  // The last seq of each room in the open transaction; and the seqs of
  // messages that could not be stored, written to rooms.last_seq with the
  // next commit that succeeds, so a restart never hands out a seq a client
  // has seen.
  std::unordered_map<std::int64_t, std::uint64_t> transaction_room_seqs_;
  std::unordered_map<std::int64_t, std::uint64_t> unsaved_room_seqs_;
  std::string degraded_;
  std::chrono::steady_clock::time_point retry_at_{};
  bool checkpoint_posted_ = false;
  std::int64_t retention_cursor_ = 0;  // the last room id visited by retention
  asio::steady_timer retention_timer_;
  bool stopped_ = false;
};

}  // namespace loopchat
