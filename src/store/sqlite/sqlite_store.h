// SqliteStore: the embedded Store. A small pool of connections to one WAL database file;
// each call borrows one connection exclusively, so readers run in parallel and writers are
// serialised by SQLite itself (busy timeout 5 s). Thread-safe.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "store/sqlite/sqlite_db.h"
#include "store/store.h"

namespace lattice::store::sqlite {

class SqliteStore final : public Store {
 public:
  // Opens `path`, applies migrations, and fills a pool of `pool_size` connections.
  static Result<std::unique_ptr<SqliteStore>> Open(const std::string& path, int pool_size = 4);

  Status Ping() override;
  Result<User> CreateUser(const User& user) override;
  Result<User> GetUserById(const std::string& id) override;
  Result<User> GetUserByEmail(const std::string& email) override;
  Status UpdatePassword(const std::string& user_id, const std::string& hash,
                        std::int64_t now) override;
  Status CreateSession(const Session& session) override;
  Result<SessionWithUser> GetSession(const std::string& id) override;
  Status RevokeSession(const std::string& id, std::int64_t now) override;
  Result<std::int64_t> DeleteExpiredSessions(std::int64_t now) override;

 private:
  // Exclusive use of one pooled connection for the lifetime of the lease.
  class Lease {
   public:
    Lease(SqliteStore& s, std::unique_ptr<Connection> c) : store_(s), conn_(std::move(c)) {}
    ~Lease();
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Connection* operator->() { return conn_.get(); }
    Connection& operator*() { return *conn_; }

   private:
    SqliteStore& store_;
    std::unique_ptr<Connection> conn_;
  };
  Lease Acquire();

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Connection>> idle_;  // guarded by mu_
};

// Applies pending migrations on `conn`. Exposed for tests.
Status Migrate(Connection& conn);

}  // namespace lattice::store::sqlite
