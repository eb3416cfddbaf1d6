// Thin RAII wrappers over libpq: Params (the values of one statement, always sent separately
// from the SQL), PgResult (an owned PGresult with typed column access) and Connection (one
// PGconn with a cache of prepared statements). Every round trip has a client-side deadline, so
// an unresponsive server yields kUnavailable instead of a hung thread; a connection whose
// socket failed or timed out is marked broken and must be discarded.
// A Connection is used by one thread at a time (the pool hands it out exclusively).
#pragma once

#include <libpq-fe.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/result.h"

namespace lattice::store::postgres {

// Statement parameters $1, $2, … in order. Values are copied. Text is sent in text format,
// bytes (BYTEA) in binary format; std::nullopt is SQL NULL.
class Params {
 public:
  Params& Add(std::string_view v);
  Params& Add(const std::string& v) { return Add(std::string_view(v)); }
  Params& Add(const char* v) { return Add(std::string_view(v)); }
  Params& Add(std::int64_t v) { return Add(std::to_string(v)); }
  Params& Add(int v) { return Add(std::to_string(v)); }
  Params& Add(double v);
  Params& Add(const std::optional<std::int64_t>& v);
  Params& Add(const std::optional<std::string>& v);
  Params& AddBytes(std::string_view v);

  int size() const { return static_cast<int>(values_.size()); }
  // False if a text value held a NUL byte (PostgreSQL text cannot).
  bool valid() const { return valid_; }

 private:
  friend class Connection;
  std::vector<std::string> values_;
  std::vector<bool> null_;
  std::vector<int> formats_;
  bool valid_ = true;
};

struct PgResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};

class PgResult {
 public:
  explicit PgResult(PGresult* r) : r_(r) {}

  int rows() const { return PQntuples(r_.get()); }
  // Rows changed by an INSERT/UPDATE/DELETE.
  std::int64_t affected() const;

  bool IsNull(int row, int col) const { return PQgetisnull(r_.get(), row, col) != 0; }
  std::string Text(int row, int col) const;
  std::int64_t Int(int row, int col) const;
  double Double(int row, int col) const;
  std::string Bytes(int row, int col) const;  // a BYTEA column, decoded
  std::optional<std::int64_t> OptInt(int row, int col) const;

 private:
  std::unique_ptr<PGresult, PgResultDeleter> r_;
};

// Every row of `r`, each read by `read(r, row)`.
template <typename T, typename Read>
std::vector<T> RowsOf(const PgResult& r, Read read) {
  std::vector<T> out;
  out.reserve(static_cast<std::size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) out.push_back(read(r, i));
  return out;
}

struct ConnectOptions {
  std::string url;  // postgres://… or postgresql://… (may hold a password: never log it)
  // Defaults the URL may override (?connect_timeout=…, ?options=-c statement_timeout=…).
  int connect_timeout_seconds = 5;
  int statement_timeout_ms = 15000;
  // How long a round trip may take before the client gives up on the connection; kept above
  // statement_timeout so the server's own (clean) timeout normally fires first.
  std::chrono::milliseconds round_trip_deadline{20000};
};

class Connection {
 public:
  // Connects; kUnavailable (with a message free of the password) if the server cannot be
  // reached or refuses.
  static Result<std::unique_ptr<Connection>> Open(const ConnectOptions& opts);
  Connection(PGconn* conn, std::chrono::milliseconds deadline);  // use Open()
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs one statement with parameters through a prepared statement cached per connection
  // (`sql` is the cache key). Errors are mapped by SQLSTATE: integrity violations (23…) →
  // kConflict; connection failures, timeouts, lock timeouts, serialization failures and
  // deadlocks → kUnavailable; invalid text (22…) → kInvalidArgument; anything else kInternal.
  Result<PgResult> Exec(const std::string& sql, const Params& params = {});
  // Runs one or more statements without parameters (simple protocol): migrations, BEGIN…
  Status ExecScript(const char* sql);

  // The SQLSTATE of the last failed statement ("" if it did not come from the server).
  const std::string& last_sqlstate() const { return last_sqlstate_; }
  // True once the connection failed at the socket level or a deadline passed.
  bool broken() const { return broken_ || PQstatus(conn_) != CONNECTION_OK; }
  // For a connection that sat idle in the pool: notices whether the server closed it
  // (a terminated backend, a restart) without a round trip. False if it is unusable.
  bool StillAlive();
  // The libpq handle, for what the wrapper does not cover (LISTEN/NOTIFY). Only between
  // statements, on the thread that uses the connection.
  PGconn* raw() { return conn_; }

 private:
  // Waits for the current query's results; the last result (or the first error) wins.
  Result<PgResult> Await(std::string_view what);
  // Waits until the socket is ready for `events` or the deadline passes.
  Status WaitSocket(short events, std::chrono::steady_clock::time_point deadline);
  Error ConnectionError(std::string_view what);

  PGconn* conn_;
  std::chrono::milliseconds deadline_;
  bool broken_ = false;
  std::string last_sqlstate_;
  std::unordered_map<std::string, std::string> prepared_;  // SQL → statement name
};

// Maps a SQLSTATE and message to an Error (see Connection::Exec).
Error ErrorFromSqlState(std::string_view sqlstate, std::string message);

}  // namespace lattice::store::postgres
