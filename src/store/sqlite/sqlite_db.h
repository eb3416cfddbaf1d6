// Thin RAII wrappers over the SQLite C API: Connection (one sqlite3*, with a cache of prepared
// statements) and Stmt (a borrowed, reset-on-scope-exit statement with typed bind/column).
// A Connection is used by one thread at a time (the pool hands it out exclusively).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/result.h"

namespace lattice::store::sqlite {

class Stmt {
 public:
  explicit Stmt(sqlite3_stmt* s) : s_(s) {}
  ~Stmt() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& Bind(int i, std::string_view v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& Bind(int i, std::int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  Stmt& Bind(int i, double v) {
    sqlite3_bind_double(s_, i, v);
    return *this;
  }
  Stmt& BindBlob(int i, std::string_view v) {
    sqlite3_bind_blob(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& Bind(int i, std::optional<std::int64_t> v) {
    if (v)
      sqlite3_bind_int64(s_, i, *v);
    else
      sqlite3_bind_null(s_, i);
    return *this;
  }
  // SQLITE_ROW, SQLITE_DONE, or an error code.
  int Step() { return sqlite3_step(s_); }

  std::string Text(int col) const {
    const auto* p = sqlite3_column_text(s_, col);
    return p ? std::string(reinterpret_cast<const char*>(p), sqlite3_column_bytes(s_, col)) : "";
  }
  std::int64_t Int(int col) const { return sqlite3_column_int64(s_, col); }
  double Double(int col) const { return sqlite3_column_double(s_, col); }
  std::string Blob(int col) const {
    const void* p = sqlite3_column_blob(s_, col);
    return p ? std::string(static_cast<const char*>(p), sqlite3_column_bytes(s_, col)) : "";
  }
  std::optional<std::int64_t> OptInt(int col) const {
    if (sqlite3_column_type(s_, col) == SQLITE_NULL) return std::nullopt;
    return sqlite3_column_int64(s_, col);
  }

 private:
  sqlite3_stmt* s_;
};

class Connection {
 public:
  // Opens `path` with WAL, foreign keys and a busy timeout. Throws nothing; check ok().
  static Result<std::unique_ptr<Connection>> Open(const std::string& path);
  // Takes ownership of an open handle; use Open().
  explicit Connection(sqlite3* db) : db_(db) {}
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // A cached prepared statement for `sql` (which must be a string literal or otherwise outlive
  // the connection), reset when the returned Stmt goes out of scope.
  Result<std::unique_ptr<Stmt>> Prepare(const char* sql);
  // Runs one or more statements with no results.
  Status Exec(const char* sql);

  // Maps a SQLite result code to an Error (constraint → kConflict, busy → kUnavailable).
  Error ToError(int rc, std::string_view what) const;

  sqlite3* raw() { return db_; }

 private:
  sqlite3* db_;
  std::unordered_map<const char*, sqlite3_stmt*> cache_;
};

}  // namespace lattice::store::sqlite
