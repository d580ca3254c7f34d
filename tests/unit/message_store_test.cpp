// MessageStore on a temporary folder: the schema is created and kept, a
// turn's messages become visible to another reader only at commit(), a
// room's seq survives retention, retention deletes in bounded passes, and
// each fault at start is one clear error naming the path.
#include "server/store/message_store.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <asio.hpp>

#include <fstream>
#include <memory>
#include <string>

#include "tests/support/temp_dir.hpp"

namespace loopchat {
namespace {

class MessageStoreTest : public ::testing::Test {
 protected:
  MessageStoreTest() { settings.data_dir = dir.path(); }

  std::unique_ptr<MessageStore> open() {
    return std::make_unique<MessageStore>(io, settings, metrics);
  }
  static protocol::Message message(std::uint64_t seq, std::int64_t ts = 1000) {
    return {"r", "ann", "text " + std::to_string(seq), seq, ts, {}};
  }
  // Rows in the messages table, as another connection (another process) sees them.
  std::int64_t rows_seen_from_outside() {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open_v2((dir / "loopchat.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr),
              SQLITE_OK);
    sqlite3_stmt* stmt = nullptr;
    sqlite3_prepare_v2(db, "SELECT count(*) FROM messages", -1, &stmt, nullptr);
    std::int64_t count = sqlite3_step(stmt) == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : -1;
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return count;
  }
  std::string open_error() {
    try {
      open();
    } catch (const std::exception& e) {
      return e.what();
    }
    return "";
  }

  test::TempDir dir;
  asio::io_context io;
  StoreSettings settings;
  Metrics metrics;
};

TEST_F(MessageStoreTest, MessagesAndSeqSurviveReopening) {
  {
    auto store = open();
    auto room = store->open_room("r");
    ASSERT_TRUE(room);
    EXPECT_EQ(room->last_seq, 0u);
    for (std::uint64_t seq = 1; seq <= 5; ++seq) store->append(room->id, message(seq));
    store->commit();
    EXPECT_EQ(metrics.store.messages_saved, 5u);
  }
  auto store = open();
  auto room = store->find_room("r");
  ASSERT_TRUE(room);
  EXPECT_EQ(room->last_seq, 5u);
  auto rows = store->read(room->id, 2, 4, 10, false);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].seq, 2u);
  EXPECT_EQ(rows[0].from, "ann");
  EXPECT_EQ(rows[0].text, "text 2");
  EXPECT_EQ(rows[0].ts, 1000);
  auto newest = store->read(room->id, 1, 5, 2, true);
  ASSERT_EQ(newest.size(), 2u);
  EXPECT_EQ(newest[0].seq, 5u) << "newest first";
  EXPECT_EQ(newest[1].seq, 4u);
  EXPECT_FALSE(store->find_room("never"));
}

TEST_F(MessageStoreTest, ATurnIsVisibleToOthersOnlyOnceCommitted) {
  auto store = open();
  auto room = store->open_room("r");
  ASSERT_TRUE(room);
  store->commit();
  store->append(room->id, message(1));
  store->append(room->id, message(2));
  EXPECT_EQ(rows_seen_from_outside(), 0) << "appended, not committed";
  store->commit();
  EXPECT_EQ(rows_seen_from_outside(), 2);
  EXPECT_EQ(metrics.store.commits, 2u);
}

TEST_F(MessageStoreTest, RetentionKeepsTheNewestInBoundedPassesAndTheSeqStays) {
  settings.history_keep = 10;
  settings.retention_batch_rows = 7;
  auto store = open();
  auto room = store->open_room("r");
  ASSERT_TRUE(room);
  for (std::uint64_t seq = 1; seq <= 30; ++seq) store->append(room->id, message(seq));
  store->commit();
  EXPECT_EQ(store->retention_pass(), 7u) << "one pass deletes at most a batch";
  EXPECT_EQ(store->retention_pass(), 7u);
  EXPECT_EQ(store->retention_pass(), 6u) << "down to the newest 10";
  EXPECT_EQ(store->retention_pass(), 0u);
  auto rows = store->read(room->id, 1, 30, 100, false);
  ASSERT_EQ(rows.size(), 10u);
  EXPECT_EQ(rows.front().seq, 21u);
  EXPECT_EQ(metrics.store.rows_deleted, 20u);
  store.reset();
  store = open();
  EXPECT_EQ(store->find_room("r")->last_seq, 30u);
}

TEST_F(MessageStoreTest, RetentionByAgeKeepsTheSeqOfAnEmptiedRoom) {
  settings.history_keep = 0;
  settings.history_max_age_s = 60;
  auto store = open();
  auto room = store->open_room("r");
  ASSERT_TRUE(room);
  for (std::uint64_t seq = 1; seq <= 3; ++seq) store->append(room->id, message(seq, 1));
  store->commit();
  EXPECT_EQ(store->retention_pass(), 3u) << "messages from 1970 are older than a minute";
  EXPECT_TRUE(store->read(room->id, 1, 3, 10, false).empty());
  store.reset();
  EXPECT_EQ(open()->find_room("r")->last_seq, 3u) << "no seq is handed out twice";
}

// A database of schema version 1 (messages clustered by room and seq) is
// migrated at start, its messages and seqs kept.
TEST_F(MessageStoreTest, AVersionOneDatabaseIsMigratedWithItsMessages) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir / "loopchat.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(
      sqlite3_exec(db,
                   "CREATE TABLE rooms (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
                   "  last_seq INTEGER NOT NULL);"
                   "CREATE TABLE messages (room_id INTEGER NOT NULL, seq INTEGER NOT NULL,"
                   "  sender TEXT NOT NULL, text TEXT NOT NULL, sent_ms INTEGER NOT NULL,"
                   "  PRIMARY KEY (room_id, seq)) WITHOUT ROWID;"
                   "INSERT INTO rooms VALUES (7, 'old', 0);"
                   "INSERT INTO messages VALUES (7, 1, 'ann', 'one', 10), (7, 2, 'bo', 'two', 20);"
                   "PRAGMA user_version=1;",
                   nullptr, nullptr, nullptr),
      SQLITE_OK);
  sqlite3_close(db);
  auto store = open();
  auto room = store->find_room("old");
  ASSERT_TRUE(room);
  EXPECT_EQ(room->id, 7);
  EXPECT_EQ(room->last_seq, 2u) << "the last seq from the newest row";
  auto rows = store->read(room->id, 1, 2, 10, false);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].text, "two");
  EXPECT_EQ(rows[1].from, "bo");
  store->append(room->id, {"old", "cy", "three", 3, 30, {}});
  store->commit();
  EXPECT_EQ(store->read(room->id, 3, 3, 1, false).at(0).text, "three");
}

TEST_F(MessageStoreTest, ACorruptDatabaseIsRefusedNamingItsPath) {
  std::ofstream(dir / "loopchat.db") << std::string(8192, 'x');
  std::string error = open_error();
  EXPECT_NE(error.find(dir / "loopchat.db"), std::string::npos) << error;
  EXPECT_NE(error.find("not a database"), std::string::npos) << error;
}

TEST_F(MessageStoreTest, AFolderInUseIsRefusedNamingTheOtherServer) {
  auto first = open();
  std::string error = open_error();
  EXPECT_NE(error.find("data folder " + dir.path() + " is in use by another loopchat-server (pid " +
                       std::to_string(::getpid()) + ")"),
            std::string::npos)
      << error;
  first.reset();
  EXPECT_EQ(open_error(), "") << "free again once the first is gone";
}

TEST_F(MessageStoreTest, AnUnwritableFolderIsRefusedNamingIt) {
  std::ofstream(dir / "file") << "not a folder";
  settings.data_dir = dir / "file/data";
  std::string error = open_error();
  EXPECT_NE(error.find("cannot create data folder " + settings.data_dir), std::string::npos)
      << error;
}

TEST_F(MessageStoreTest, ANewerSchemaIsRefused) {
  open().reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir / "loopchat.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version=99", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  std::string error = open_error();
  EXPECT_NE(error.find("schema version 99 is newer"), std::string::npos) << error;
}

}  // namespace
}  // namespace loopchat
