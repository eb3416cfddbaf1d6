#include "store/sqlite/sqlite_db.h"

#include <fcntl.h>
#include <unistd.h>

namespace lattice::store::sqlite {

Result<std::unique_ptr<Connection>> Connection::Open(const std::string& path) {
  // The database holds password hashes and sealed credentials: create it owner-only whatever
  // the umask (SQLite gives its -wal and -shm files the database file's mode).
  if (!path.empty() && path.front() != ':' && path.rfind("file:", 0) != 0) {
    if (const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600); fd >= 0)
      ::close(fd);
  }
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(
      path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return Error::Unavailable("cannot open database " + path + ": " + msg);
  }
  auto conn = std::make_unique<Connection>(db);
  sqlite3_busy_timeout(db, 5000);
  // WAL lets readers proceed during a write; synchronous=FULL makes every acknowledged
  // commit durable even across a power loss (writes here are rare and small).
  if (Status s = conn->Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
                            "PRAGMA foreign_keys=ON;");
      !s.ok()) {
    return std::move(s).error();
  }
  return conn;
}

Connection::~Connection() {
  for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
  sqlite3_close(db_);
}

Result<std::unique_ptr<Stmt>> Connection::Prepare(const char* sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    sqlite3_stmt* stmt = nullptr;
    const int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) return ToError(rc, "prepare");
    it = cache_.emplace(sql, stmt).first;
  }
  return std::make_unique<Stmt>(it->second);
}

Status Connection::Exec(const char* sql) {
  char* err = nullptr;
  const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    Error e = ToError(rc, "exec");
    e.message += ": " + msg;
    return e;
  }
  return Status::Ok();
}

Error Connection::ToError(int rc, std::string_view what) const {
  const std::string msg = std::string(what) + ": " + sqlite3_errmsg(db_);
  switch (rc & 0xff) {
    case SQLITE_CONSTRAINT:
      return Error::Conflict(msg);
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
    case SQLITE_FULL:
      return Error::Unavailable(msg);
    default:
      return Error::Internal(msg);
  }
}

}  // namespace lattice::store::sqlite
