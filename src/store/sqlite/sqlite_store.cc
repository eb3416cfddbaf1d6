#include "store/sqlite/sqlite_store.h"

#include "store/migrations.h"

namespace lattice::store::sqlite {
namespace {

constexpr const char* kUserColumns =
    "id, email, password_hash, role, created_at, password_changed_at";

User ReadUser(const Stmt& s, int base) {
  return User{s.Text(base),     s.Text(base + 1), s.Text(base + 2),
              s.Text(base + 3), s.Int(base + 4),  s.Int(base + 5)};
}

}  // namespace

Status Migrate(Connection& c) {
  if (Status s =
          c.Exec("CREATE TABLE IF NOT EXISTS schema_migrations ("
                 " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)");
      !s.ok())
    return s;
  {
    auto q = c.Prepare("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
    if (!q.ok()) return std::move(q).error();
    if (int rc = (*q)->Step(); rc != SQLITE_ROW) return c.ToError(rc, "read schema version");
    if (const std::int64_t have = (*q)->Int(0); have > LatestSchemaVersion()) {
      return Error::Conflict(SchemaTooNewMessage(have));
    }
  }
  for (const Migration& m : Migrations()) {
    Status s = InTransaction(c, [&]() -> Status {
      auto q = c.Prepare("SELECT 1 FROM schema_migrations WHERE version = ?");
      if (!q.ok()) return std::move(q).error();
      (*q)->Bind(1, static_cast<std::int64_t>(m.version));
      if ((*q)->Step() == SQLITE_ROW) return Status::Ok();  // already applied
      if (Status e = c.Exec(m.sqlite); !e.ok()) return e;
      auto ins = c.Prepare(
          "INSERT INTO schema_migrations(version, name, applied_at) VALUES (?, ?, "
          "strftime('%s','now'))");
      if (!ins.ok()) return std::move(ins).error();
      (*ins)->Bind(1, static_cast<std::int64_t>(m.version)).Bind(2, m.name);
      if (int rc = (*ins)->Step(); rc != SQLITE_DONE) return c.ToError(rc, "record migration");
      return Status::Ok();
    });
    if (!s.ok()) {
      Error e = std::move(s).error();
      e.message = "migration " + std::to_string(m.version) + " failed: " + e.message;
      return e;
    }
  }
  return Status::Ok();
}

Result<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::string& path, int pool_size) {
  auto store = std::make_unique<SqliteStore>();
  store->pool_size_ = pool_size;
  for (int i = 0; i < pool_size; ++i) {
    auto conn = Connection::Open(path);
    if (!conn.ok()) return std::move(conn).error();
    if (i == 0) {
      if (Status s = Migrate(**conn); !s.ok()) return std::move(s).error();
    }
    store->idle_.push_back(std::move(conn).value());
  }
  return store;
}

SqliteStore::Lease::~Lease() {
  {
    std::lock_guard lock(store_.mu_);
    store_.idle_.push_back(std::move(conn_));
  }
  store_.cv_.notify_one();
}

SqliteStore::Lease SqliteStore::Acquire() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return !idle_.empty(); });
  auto c = std::move(idle_.back());
  idle_.pop_back();
  return Lease(*this, std::move(c));
}

Status SqliteStore::Ping() {
  auto c = Acquire();
  auto q = c->Prepare("SELECT 1");
  if (!q.ok()) return std::move(q).error();
  if (int rc = (*q)->Step(); rc != SQLITE_ROW) return c->ToError(rc, "ping");
  return Status::Ok();
}

Result<User> SqliteStore::CreateUser(const User& u, const Admission& admission) {
  auto c = Acquire();
  User out = u;
  Status s = InTransaction(*c, [&]() -> Status {
    auto any = c->Prepare("SELECT EXISTS (SELECT 1 FROM users)");
    if (!any.ok()) return std::move(any).error();
    if (int rc = (*any)->Step(); rc != SQLITE_ROW) return c->ToError(rc, "count users");
    const bool first = (*any)->Int(0) == 0;
    out.role = first ? "admin" : "user";
    if (!first) {
      if (Status a = Admit(*c, admission, u.id); !a.ok()) return a;
    }
    auto q = c->Prepare(
        "INSERT INTO users(id, email, password_hash, role, created_at, password_changed_at) "
        "VALUES (?, ?, ?, ?, ?, ?)");
    if (!q.ok()) return std::move(q).error();
    (*q)->Bind(1, u.id)
        .Bind(2, u.email)
        .Bind(3, u.password_hash)
        .Bind(4, out.role)
        .Bind(5, u.created_at)
        .Bind(6, u.password_changed_at);
    if (int rc = (*q)->Step(); rc != SQLITE_DONE) {
      Error e = c->ToError(rc, "create user");
      if (e.code == ErrorCode::kConflict) e.message = "An account with this email already exists.";
      return e;
    }
    return Status::Ok();
  });
  if (!s.ok()) return std::move(s).error();
  return out;
}

Result<bool> SqliteStore::HasUsers() {
  auto c = Acquire();
  auto q = c->Prepare("SELECT EXISTS (SELECT 1 FROM users)");
  if (!q.ok()) return std::move(q).error();
  if (int rc = (*q)->Step(); rc != SQLITE_ROW) return c->ToError(rc, "count users");
  return (*q)->Int(0) != 0;
}

Result<User> SqliteStore::GetUserById(const std::string& id) {
  auto c = Acquire();
  static const std::string sql = std::string("SELECT ") + kUserColumns + " FROM users WHERE id = ?";
  auto q = c->Prepare(sql.c_str());
  if (!q.ok()) return std::move(q).error();
  (*q)->Bind(1, id);
  const int rc = (*q)->Step();
  if (rc == SQLITE_ROW) return ReadUser(**q, 0);
  if (rc == SQLITE_DONE) return Error::NotFound("user not found");
  return c->ToError(rc, "get user");
}

Result<User> SqliteStore::GetUserByEmail(const std::string& email) {
  auto c = Acquire();
  static const std::string sql =
      std::string("SELECT ") + kUserColumns + " FROM users WHERE email = ?";
  auto q = c->Prepare(sql.c_str());
  if (!q.ok()) return std::move(q).error();
  (*q)->Bind(1, email);
  const int rc = (*q)->Step();
  if (rc == SQLITE_ROW) return ReadUser(**q, 0);
  if (rc == SQLITE_DONE) return Error::NotFound("user not found");
  return c->ToError(rc, "get user");
}

Status SqliteStore::UpdatePassword(const std::string& user_id, const std::string& hash,
                                   std::int64_t now) {
  auto c = Acquire();
  return InTransaction(*c, [&]() -> Status {
    auto q = c->Prepare("UPDATE users SET password_hash = ?, password_changed_at = ? WHERE id = ?");
    if (!q.ok()) return std::move(q).error();
    (*q)->Bind(1, hash).Bind(2, now).Bind(3, user_id);
    if (int rc = (*q)->Step(); rc != SQLITE_DONE) return c->ToError(rc, "update password");
    if (sqlite3_changes(c->raw()) == 0) return Error::NotFound("user not found");
    auto r =
        c->Prepare("UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL");
    if (!r.ok()) return std::move(r).error();
    (*r)->Bind(1, now).Bind(2, user_id);
    if (int rc = (*r)->Step(); rc != SQLITE_DONE) return c->ToError(rc, "revoke sessions");
    return Status::Ok();
  });
}

Status SqliteStore::CreateSession(const Session& s) {
  auto c = Acquire();
  auto q = c->Prepare(
      "INSERT INTO sessions(id, user_id, secret_hash, created_at, expires_at, revoked_at, "
      "created_from) VALUES (?, ?, ?, ?, ?, ?, ?)");
  if (!q.ok()) return std::move(q).error();
  (*q)->Bind(1, s.id)
      .Bind(2, s.user_id)
      .Bind(3, s.secret_hash)
      .Bind(4, s.created_at)
      .Bind(5, s.expires_at)
      .Bind(6, s.revoked_at)
      .Bind(7, s.created_from);
  if (int rc = (*q)->Step(); rc != SQLITE_DONE) return c->ToError(rc, "create session");
  return Status::Ok();
}

Result<SessionWithUser> SqliteStore::GetSession(const std::string& id) {
  auto c = Acquire();
  auto q = c->Prepare(
      "SELECT s.id, s.user_id, s.secret_hash, s.created_at, s.expires_at, s.revoked_at, "
      "s.created_from, u.id, u.email, u.password_hash, u.role, u.created_at, "
      "u.password_changed_at FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = ?");
  if (!q.ok()) return std::move(q).error();
  (*q)->Bind(1, id);
  const int rc = (*q)->Step();
  if (rc == SQLITE_DONE) return Error::NotFound("session not found");
  if (rc != SQLITE_ROW) return c->ToError(rc, "get session");
  const Stmt& s = **q;
  SessionWithUser out;
  out.session =
      Session{s.Text(0), s.Text(1), s.Text(2), s.Int(3), s.Int(4), s.OptInt(5), s.Text(6)};
  out.user = ReadUser(s, 7);
  return out;
}

Status SqliteStore::RevokeSession(const std::string& id, std::int64_t now) {
  auto c = Acquire();
  auto q = c->Prepare("UPDATE sessions SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?");
  if (!q.ok()) return std::move(q).error();
  (*q)->Bind(1, now).Bind(2, id);
  if (int rc = (*q)->Step(); rc != SQLITE_DONE) return c->ToError(rc, "revoke session");
  if (sqlite3_changes(c->raw()) == 0) return Error::NotFound("session not found");
  return Status::Ok();
}

Result<std::int64_t> SqliteStore::DeleteExpiredSessions(std::int64_t now) {
  auto c = Acquire();
  auto q = c->Prepare("DELETE FROM sessions WHERE expires_at < ?");
  if (!q.ok()) return std::move(q).error();
  (*q)->Bind(1, now);
  if (int rc = (*q)->Step(); rc != SQLITE_DONE) return c->ToError(rc, "delete sessions");
  return static_cast<std::int64_t>(sqlite3_changes(c->raw()));
}

}  // namespace lattice::store::sqlite

namespace lattice::store {

Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path) {
  auto s = sqlite::SqliteStore::Open(path);
  if (!s.ok()) return std::move(s).error();
  return std::unique_ptr<Store>(std::move(s).value());
}

}  // namespace lattice::store
