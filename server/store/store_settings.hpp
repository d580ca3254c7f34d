// Where and how messages are stored (server/store/message_store.hpp,
// docs/persistence.md). Part of Config; one command-line option each.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace loopchat {

struct StoreSettings {
  std::string data_dir = "loopchat-data";  // relative to the working directory
  bool memory_only = false;                // no database: history lives in the rings only
  // SQLite's synchronous setting in WAL mode: normal (fsync at checkpoints:
  // a power loss can lose the commits since the last one), full (fsync every
  // commit, on the loop), off (never fsync: the OS decides).
  std::string sync = "normal";
  // Retention, per room: the newest history_keep messages (0: all), none
  // older than history_max_age_s (0: any age). Deleted on a timer, at most
  // retention_batch_rows rows a pass, never in one long transaction.
  std::uint64_t history_keep = 100000;
  std::uint64_t history_max_age_s = 0;
  std::uint32_t retention_interval_ms = 1000;
  std::size_t retention_batch_rows = 1000;
  std::size_t retention_rooms_per_pass = 64;
  // The write-ahead log is checkpointed into the database by the loop, when
  // it holds this many pages (4 KiB each), not by SQLite inside a commit.
  std::size_t checkpoint_pages = 1000;
  // After a failed write, messages are counted as unsaved without trying
  // again until this much time has passed.
  std::uint32_t retry_ms = 1000;
  // One history answer reads at most this many rows from disk.
  std::size_t max_rows_per_read = 1000;
};

}  // namespace loopchat
