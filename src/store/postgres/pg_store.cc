#include "store/postgres/pg_store.h"

#include <algorithm>

#include "store/database_url.h"
#include "store/migrations.h"

namespace lattice::store::postgres {
namespace {

constexpr const char* kUserColumns =
    "id, email, password_hash, role, created_at, password_changed_at";

User ReadUser(const PgResult& r, int row, int base) {
  return User{r.Text(row, base),     r.Text(row, base + 1), r.Text(row, base + 2),
              r.Text(row, base + 3), r.Int(row, base + 4),  r.Int(row, base + 5)};
}

}  // namespace

Status Migrate(Connection& c) {
  return InTransaction(c, [&]() -> Status {
    // Held until COMMIT: a second replica starting now waits here, then finds nothing to do.
    if (auto r = c.Exec("SELECT pg_advisory_xact_lock($1)", Params().Add(kMigrationLockKey));
        !r.ok())
      return std::move(r).error();
    if (Status s = c.ExecScript(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
            "name TEXT NOT NULL, applied_at BIGINT NOT NULL)");
        !s.ok())
      return s;
    auto cur = c.Exec("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
    if (!cur.ok()) return std::move(cur).error();
    const std::int64_t have = cur->Int(0, 0);
    if (have > LatestSchemaVersion()) return Error::Conflict(SchemaTooNewMessage(have));
    for (const Migration& m : Migrations()) {
      if (m.version <= have) continue;
      if (Status s = c.ExecScript(m.postgres); !s.ok()) {
        Error e = std::move(s).error();
        e.message = "migration " + std::to_string(m.version) + " failed: " + e.message;
        return e;
      }
      auto ins = c.Exec(
          "INSERT INTO schema_migrations(version, name, applied_at) "
          "VALUES ($1, $2, EXTRACT(EPOCH FROM now())::BIGINT)",
          Params().Add(m.version).Add(m.name));
      if (!ins.ok()) return std::move(ins).error();
    }
    return Status::Ok();
  });
}

PostgresStore::PostgresStore(ConnectOptions conn, PoolOptions pool)
    : conn_options_(std::move(conn)), pool_options_(pool) {}

PostgresStore::~PostgresStore() = default;

Result<std::unique_ptr<PostgresStore>> PostgresStore::Open(const ConnectOptions& conn,
                                                           const PoolOptions& pool) {
  auto store = std::make_unique<PostgresStore>(conn, pool);
  auto c = Connection::Open(conn);
  if (!c.ok()) return std::move(c).error();
  if (Status s = Migrate(**c); !s.ok()) return std::move(s).error();
  store->open_ = 1;
  store->idle_.push_back(std::move(c).value());
  return store;
}

PostgresStore::Lease::~Lease() {
  if (conn_) store_->Release(std::move(conn_));
}

void PostgresStore::Release(std::unique_ptr<Connection> c) {
  std::unique_lock lock(mu_);
  if (c->broken()) {
    --open_;
    lock.unlock();
    c.reset();  // close outside the lock
  } else {
    idle_.push_back(std::move(c));
  }
  cv_.notify_one();
}

Result<PostgresStore::Lease> PostgresStore::Acquire() {
  const auto deadline = std::chrono::steady_clock::now() + pool_options_.acquire_timeout;
  std::unique_lock lock(mu_);
  for (;;) {
    if (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      if (c->StillAlive()) return Lease(*this, std::move(c));
      --open_;  // the server closed it while it was idle: drop it and look again
      lock.unlock();
      c.reset();
      lock.lock();
      continue;
    }
    if (open_ < pool_options_.max_connections) {
      ++open_;
      lock.unlock();
      auto c = Connection::Open(conn_options_);
      if (!c.ok()) {
        lock.lock();
        --open_;
        cv_.notify_one();
        return std::move(c).error();
      }
      return Lease(*this, std::move(c).value());
    }
    if (cv_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty() &&
        open_ >= pool_options_.max_connections) {
      return Error::Unavailable("all " + std::to_string(pool_options_.max_connections) +
                                " database connections stayed busy for " +
                                std::to_string(pool_options_.acquire_timeout.count()) + " ms");
    }
  }
}

Status PostgresStore::Ping() {
  auto c = Acquire();
  if (!c.ok()) return std::move(c).error();
  auto r = (*c)->Exec("SELECT 1");
  if (!r.ok()) return std::move(r).error();
  return Status::Ok();
}

Result<User> PostgresStore::CreateUser(const User& u, const Admission& admission) {
  auto c = Acquire();
  if (!c.ok()) return std::move(c).error();
  Connection& conn = **c;
  std::string role;
  Status s = InTransaction(conn, [&]() -> Status {
    // "First user is admin" reads the table and then writes it: the lock (which conflicts
    // with itself, not with readers) serialises sign-ups across threads and processes.
    if (Status l = conn.ExecScript("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE"); !l.ok())
      return l;
    auto any = conn.Exec("SELECT EXISTS (SELECT 1 FROM users)");
    if (!any.ok()) return std::move(any).error();
    const bool first = any->Text(0, 0) != "t";
    role = first ? "admin" : "user";
    if (!first) {
      if (Status a = Admit(conn, admission, u.id); !a.ok()) return a;
    }
    auto r = conn.Exec(
        "INSERT INTO users(id, email, password_hash, role, created_at, password_changed_at) "
        "VALUES ($1, $2, $3, $4, $5, $6)",
        Params()
            .Add(u.id)
            .Add(u.email)
            .Add(u.password_hash)
            .Add(role)
            .Add(u.created_at)
            .Add(u.password_changed_at));
    if (!r.ok()) return std::move(r).error();
    return Status::Ok();
  });
  if (!s.ok()) {
    Error e = std::move(s).error();
    if (e.code == ErrorCode::kConflict) e.message = "An account with this email already exists.";
    return e;
  }
  User out = u;
  out.role = role;
  return out;
}

Result<bool> PostgresStore::HasUsers() {
  auto c = Acquire();
  if (!c.ok()) return std::move(c).error();
  auto r = (*c)->Exec("SELECT EXISTS (SELECT 1 FROM users)");
  if (!r.ok()) return std::move(r).error();
  return r->Text(0, 0) == "t";
}

Result<User> PostgresStore::GetUserById(const std::string& id) {
  auto c = Acquire();
  if (!c.ok()) return std::move(c).error();
  static const std::string sql =
      std::string("SELECT ") + kUserColumns + " FROM users WHERE id = $1";
  auto r = (*c)->Exec(sql, Params().Add(id));
  if (!r.ok()) return std::move(r).error();
  if (r->rows() == 0) return Error::NotFound("user not found");
  return ReadUser(*r, 0, 0);
}

Result<User> PostgresStore::GetUserByEmail(const std::string& email) {
  auto c = Acquire();
  if (!c.ok()) return std::move(c).error();
  static const std::string sql =
      std::string("SELECT ") + kUserColumns + " FROM users WHERE email = $1";
  auto r = (*c)->Exec(sql, Params().Add(email));
  if (!r.ok()) return std::move(r).error();
  if (r->rows() == 0) return Error::NotFound("user not found");
  return ReadUser(*r, 0, 0);
}

Status PostgresStore::UpdatePassword(const std::string& user_id, const std::string& hash,
                                     std::int64_t now) {
  auto c = Acquire();
  if (!c.ok()) return std::move(c).error();
  Connection& conn = **c;
  return InTransaction(conn, [&]() -> Status {
    auto u =
        conn.Exec("UPDATE users SET password_hash = $1, password_changed_at = $2 WHERE id = $3",
                  Params().Add(hash).Add(now).Add(user_id));
    if (!u.ok()) return std::move(u).error();
    if (u->affected() == 0) return Error::NotFound("user not found");
    auto r =
        conn.Exec("UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
                  Params().Add(now).Add(user_id));
    if (!r.ok()) return std::move(r).error();
    return Status::Ok();
  });
}

Status PostgresStore::CreateSession(const Session& s) {
  auto c = Acquire();
  if (!c.ok()) return std::move(c).error();
  auto r = (*c)->Exec(
      "INSERT INTO sessions(id, user_id, secret_hash, created_at, expires_at, revoked_at, "
      "created_from) VALUES ($1, $2, $3, $4, $5, $6, $7)",
      Params()
          .Add(s.id)
          .Add(s.user_id)
          .Add(s.secret_hash)
          .Add(s.created_at)
          .Add(s.expires_at)
          .Add(s.revoked_at)
          .Add(s.created_from));
  if (!r.ok()) return std::move(r).error();
  return Status::Ok();
}

Result<SessionWithUser> PostgresStore::GetSession(const std::string& id) {
  auto c = Acquire();
  if (!c.ok()) return std::move(c).error();
  auto r = (*c)->Exec(
      "SELECT s.id, s.user_id, s.secret_hash, s.created_at, s.expires_at, s.revoked_at, "
      "s.created_from, u.id, u.email, u.password_hash, u.role, u.created_at, "
      "u.password_changed_at FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = $1",
      Params().Add(id));
  if (!r.ok()) return std::move(r).error();
  if (r->rows() == 0) return Error::NotFound("session not found");
  SessionWithUser out;
  out.session = Session{r->Text(0, 0), r->Text(0, 1),   r->Text(0, 2), r->Int(0, 3),
                        r->Int(0, 4),  r->OptInt(0, 5), r->Text(0, 6)};
  out.user = ReadUser(*r, 0, 7);
  return out;
}

Status PostgresStore::RevokeSession(const std::string& id, std::int64_t now) {
  auto c = Acquire();
  if (!c.ok()) return std::move(c).error();
  auto r = (*c)->Exec("UPDATE sessions SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2",
                      Params().Add(now).Add(id));
  if (!r.ok()) return std::move(r).error();
  if (r->affected() == 0) return Error::NotFound("session not found");
  return Status::Ok();
}

Result<std::int64_t> PostgresStore::DeleteExpiredSessions(std::int64_t now) {
  auto c = Acquire();
  if (!c.ok()) return std::move(c).error();
  auto r = (*c)->Exec("DELETE FROM sessions WHERE expires_at < $1", Params().Add(now));
  if (!r.ok()) return std::move(r).error();
  return r->affected();
}

}  // namespace lattice::store::postgres

namespace lattice::store {

Result<std::unique_ptr<Store>> OpenPostgresStore(const std::string& url,
                                                 const StoreOptions& options) {
  postgres::ConnectOptions opts;
  opts.url = url;
  const std::chrono::milliseconds deadline = options.round_trip_deadline;
  opts.round_trip_deadline = deadline;
  opts.statement_timeout_ms = static_cast<int>(std::max<std::int64_t>(1, deadline.count() * 3 / 4));
  opts.connect_timeout_seconds = static_cast<int>(std::clamp<std::int64_t>(
      std::chrono::ceil<std::chrono::seconds>(deadline).count(), 2, opts.connect_timeout_seconds));
  postgres::PoolOptions pool;
  pool.acquire_timeout = std::min(pool.acquire_timeout, deadline);
  auto s = postgres::PostgresStore::Open(opts, pool);
  if (!s.ok()) return std::move(s).error();
  return std::unique_ptr<Store>(std::move(s).value());
}

}  // namespace lattice::store
