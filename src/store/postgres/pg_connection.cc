#include "store/postgres/pg_connection.h"

#include <poll.h>

#include <cerrno>
#include <charconv>

#include "store/database_url.h"

namespace lattice::store::postgres {
namespace {

// libpq's message on one line (it uses "\n\t" between a message and its hint).
std::string Trimmed(const char* msg) {
  std::string s;
  for (const char* p = msg ? msg : ""; *p; ++p) {
    const bool space = *p == '\n' || *p == '\t' || *p == ' ';
    if (!space || (!s.empty() && s.back() != ' ')) s.push_back(space ? ' ' : *p);
  }
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

}  // namespace

// --- Params

Params& Params::Add(std::string_view v) {
  if (v.find('\0') != std::string_view::npos) valid_ = false;
  values_.emplace_back(v);
  null_.push_back(false);
  formats_.push_back(0);
  return *this;
}

Params& Params::Add(double v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);  // shortest exact form
  return Add(std::string_view(buf, ec == std::errc() ? static_cast<std::size_t>(end - buf) : 0));
}

Params& Params::Add(const std::optional<std::int64_t>& v) {
  if (v) return Add(*v);
  values_.emplace_back();
  null_.push_back(true);
  formats_.push_back(0);
  return *this;
}

Params& Params::Add(const std::optional<std::string>& v) {
  if (v) return Add(std::string_view(*v));
  values_.emplace_back();
  null_.push_back(true);
  formats_.push_back(0);
  return *this;
}

Params& Params::AddBytes(std::string_view v) {
  values_.emplace_back(v);
  null_.push_back(false);
  formats_.push_back(1);
  return *this;
}

// --- PgResult

std::int64_t PgResult::affected() const {
  const char* n = PQcmdTuples(r_.get());
  std::int64_t v = 0;
  if (n) std::from_chars(n, n + std::char_traits<char>::length(n), v);
  return v;
}

std::string PgResult::Text(int row, int col) const {
  return std::string(PQgetvalue(r_.get(), row, col),
                     static_cast<std::size_t>(PQgetlength(r_.get(), row, col)));
}

std::int64_t PgResult::Int(int row, int col) const {
  const char* p = PQgetvalue(r_.get(), row, col);
  std::int64_t v = 0;
  std::from_chars(p, p + PQgetlength(r_.get(), row, col), v);
  return v;
}

double PgResult::Double(int row, int col) const {
  const char* p = PQgetvalue(r_.get(), row, col);
  double v = 0;
  std::from_chars(p, p + PQgetlength(r_.get(), row, col), v);
  return v;
}

std::string PgResult::Bytes(int row, int col) const {
  std::size_t len = 0;
  unsigned char* raw =
      PQunescapeBytea(reinterpret_cast<const unsigned char*>(PQgetvalue(r_.get(), row, col)), &len);
  if (raw == nullptr) return "";
  std::string out(reinterpret_cast<const char*>(raw), len);
  PQfreemem(raw);
  return out;
}

std::optional<std::int64_t> PgResult::OptInt(int row, int col) const {
  if (IsNull(row, col)) return std::nullopt;
  return Int(row, col);
}

// --- Connection

Result<std::unique_ptr<Connection>> Connection::Open(const ConnectOptions& o) {
  const std::string connect_timeout = std::to_string(o.connect_timeout_seconds);
  const std::string options = "-c statement_timeout=" + std::to_string(o.statement_timeout_ms) +
                              " -c idle_in_transaction_session_timeout=60000";
  // Libpq processes these in order and the URL (dbname, expanded) comes last, so anything the
  // URL sets wins over these defaults. Keepalives notice a peer that vanished.
  const char* keys[] = {"connect_timeout",
                        "application_name",
                        "keepalives",
                        "keepalives_idle",
                        "keepalives_interval",
                        "keepalives_count",
                        "options",
                        "dbname",
                        nullptr};
  const char* values[] = {connect_timeout.c_str(), "lattice",     "1",    "30", "10", "3",
                          options.c_str(),         o.url.c_str(), nullptr};
  PGconn* c = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  if (c == nullptr) return Error::Unavailable("cannot connect to PostgreSQL: out of memory");
  if (PQstatus(c) != CONNECTION_OK) {
    std::string msg = Trimmed(PQerrorMessage(c));
    PQfinish(c);
    return Error::Unavailable("cannot connect to PostgreSQL at " + RedactDatabaseUrl(o.url) + ": " +
                              msg);
  }
  // Notices ("relation already exists, skipping") are not errors; keep them off stderr.
  PQsetNoticeProcessor(
      c, [](void*, const char*) {}, nullptr);
  if (PQsetnonblocking(c, 1) != 0) {
    PQfinish(c);
    return Error::Unavailable("cannot make the PostgreSQL connection non-blocking");
  }
  return std::make_unique<Connection>(c, o.round_trip_deadline);
}

Connection::Connection(PGconn* conn, std::chrono::milliseconds deadline)
    : conn_(conn), deadline_(deadline) {}

Connection::~Connection() {
  PQfinish(conn_);
}

Result<PgResult> Connection::Exec(const std::string& sql, const Params& p) {
  last_sqlstate_.clear();
  if (!p.valid()) return Error::Invalid("Text values must not contain NUL bytes.");
  if (broken()) return Error::Unavailable("the database connection is broken");
  auto it = prepared_.find(sql);
  if (it == prepared_.end()) {
    std::string name = "lattice_" + std::to_string(prepared_.size() + 1);
    if (PQsendPrepare(conn_, name.c_str(), sql.c_str(), 0, nullptr) == 0)
      return ConnectionError("prepare");
    auto r = Await("prepare");
    if (!r.ok()) return std::move(r).error();
    it = prepared_.emplace(sql, std::move(name)).first;
  }
  const int n = p.size();
  std::vector<const char*> values(n);
  std::vector<int> lengths(n);
  for (int i = 0; i < n; ++i) {
    values[i] = p.null_[i] ? nullptr : p.values_[i].c_str();
    lengths[i] = static_cast<int>(p.values_[i].size());
  }
  if (PQsendQueryPrepared(conn_, it->second.c_str(), n, values.data(), lengths.data(),
                          p.formats_.data(), 0) == 0) {
    return ConnectionError("query");
  }
  return Await("query");
}

Status Connection::ExecScript(const char* sql) {
  last_sqlstate_.clear();
  if (broken()) return Error::Unavailable("the database connection is broken");
  if (PQsendQuery(conn_, sql) == 0) return ConnectionError("exec");
  auto r = Await("exec");
  if (!r.ok()) return std::move(r).error();
  return Status::Ok();
}

bool Connection::StillAlive() {
  if (broken()) return false;
  // An idle connection receives nothing unless the server is closing it (a terminated
  // backend or a shutdown sends FATAL, then EOF). Anything readable means: replace it.
  pollfd p{PQsocket(conn_), POLLIN, 0};
  const int n = ::poll(&p, 1, 0);
  if (n != 0) broken_ = true;
  return !broken_;
}

Status Connection::WaitSocket(short events, std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      broken_ = true;
      return Error::Unavailable("the database did not answer within " +
                                std::to_string(deadline_.count()) + " ms");
    }
    pollfd p{PQsocket(conn_), events, 0};
    const int n = ::poll(&p, 1, static_cast<int>(left.count()));
    if (n > 0) return Status::Ok();
    if (n < 0 && errno != EINTR) {
      broken_ = true;
      return Error::Unavailable("waiting for the database failed");
    }
  }
}

Result<PgResult> Connection::Await(std::string_view what) {
  const auto deadline = std::chrono::steady_clock::now() + deadline_;
  for (;;) {  // send everything (non-blocking mode)
    const int f = PQflush(conn_);
    if (f == 0) break;
    if (f < 0) return ConnectionError(what);
    if (Status s = WaitSocket(POLLIN | POLLOUT, deadline); !s.ok()) return std::move(s).error();
    if (PQconsumeInput(conn_) == 0) return ConnectionError(what);
  }
  std::optional<PgResult> last;
  std::optional<Error> error;
  for (;;) {
    while (PQisBusy(conn_) != 0) {
      if (Status s = WaitSocket(POLLIN, deadline); !s.ok()) return std::move(s).error();
      if (PQconsumeInput(conn_) == 0) return ConnectionError(what);
    }
    PGresult* raw = PQgetResult(conn_);
    if (raw == nullptr) break;
    PgResult r(raw);
    const ExecStatusType st = PQresultStatus(raw);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY) {
      if (!error) last.emplace(std::move(r));
      continue;
    }
    if (error) continue;  // the first error explains the failure
    const char* state = PQresultErrorField(raw, PG_DIAG_SQLSTATE);
    last_sqlstate_ = state ? state : "";
    std::string msg = std::string(what) + ": " + Trimmed(PQresultErrorMessage(raw));
    if (last_sqlstate_.empty() && PQstatus(conn_) != CONNECTION_OK) {
      broken_ = true;
      error = Error::Unavailable(std::move(msg));
    } else {
      error = ErrorFromSqlState(last_sqlstate_, std::move(msg));
    }
  }
  if (PQstatus(conn_) != CONNECTION_OK) broken_ = true;
  if (error) return std::move(*error);
  if (!last) return Error::Internal(std::string(what) + ": no result");
  return std::move(*last);
}

Error Connection::ConnectionError(std::string_view what) {
  broken_ = true;
  return Error::Unavailable(std::string(what) + ": " + Trimmed(PQerrorMessage(conn_)));
}

Error ErrorFromSqlState(std::string_view s, std::string message) {
  const std::string_view cls = s.substr(0, std::min<std::size_t>(2, s.size()));
  if (cls == "23") return Error::Conflict(std::move(message));  // integrity constraints
  if (cls == "22") return Error::Invalid(std::move(message));   // bad data, e.g. invalid text
  // Connection exceptions, insufficient resources, operator intervention (shutdown, cancel,
  // statement timeout), lock timeouts, serialization failures and deadlocks, system errors:
  // transient or outside the caller's control.
  if (cls == "08" || cls == "53" || cls == "57" || cls == "58" || cls == "40" || s == "55P03")
    return Error::Unavailable(std::move(message));
  return Error::Internal(std::move(message));
}

}  // namespace lattice::store::postgres
