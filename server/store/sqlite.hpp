// A thin RAII layer over the SQLite C API: a connection and a prepared
// statement, with errors as exceptions that carry SQLite's own message. Only
// the message store uses it.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace loopchat::sqlite {

struct Error : std::runtime_error {
  Error(int code, const std::string& what) : std::runtime_error(what), code(code) {}
  int code;  // the extended result code
};

class Database {
 public:
  // Opens (creating) the file; throws Error.
  explicit Database(const std::string& path);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  sqlite3* handle() const { return db_; }
  // Runs statements without results; throws Error.
  void exec(const char* sql);
  // The connection's last error, "what: message".
  [[noreturn]] void fail(std::string_view what) const;

 private:
  sqlite3* db_ = nullptr;
};

class Statement {
 public:
  Statement(Database& db, const char* sql);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int index, std::int64_t value);
  Statement& bind(int index, std::string_view text);
  // One step: true while it yields a row, false when done; throws Error.
  // A statement is reset (and its bindings cleared) before it is bound again.
  bool step();
  void reset();

  std::int64_t integer(int column) const { return sqlite3_column_int64(stmt_, column); }
  std::string_view text(int column) const;

 private:
  Database& db_;
  sqlite3_stmt* stmt_ = nullptr;
};

}  // namespace loopchat::sqlite
