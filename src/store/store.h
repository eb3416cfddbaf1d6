// Store: the control plane's persistence interface. Handlers depend only on this; SQLite
// (embedded default) and PostgreSQL (scale-out) implement it with the same semantics.
// Every method is safe to call from any thread and is atomic: it either fully happens or
// returns an error and changes nothing. Errors: kNotFound, kConflict (unique constraints),
// kUnavailable (the database cannot be reached), kInternal.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/result.h"
#include "store/models.h"

namespace lattice::store {

class Store {
 public:
  virtual ~Store() = default;

  // Cheap round trip to the database (readiness).
  virtual Status Ping() = 0;

  // Inserts `user`; its role is decided atomically: "admin" if no user exists yet, else "user".
  // The stored role is returned in the result. kConflict if the email is taken.
  virtual Result<User> CreateUser(const User& user) = 0;
  virtual Result<User> GetUserById(const std::string& id) = 0;
  virtual Result<User> GetUserByEmail(const std::string& email) = 0;
  // Replaces the password hash and revokes every session of the user, in one transaction.
  virtual Status UpdatePassword(const std::string& user_id, const std::string& hash,
                                std::int64_t now) = 0;

  virtual Status CreateSession(const Session& session) = 0;
  // The session and its user. kNotFound if either is missing.
  virtual Result<SessionWithUser> GetSession(const std::string& id) = 0;
  // Marks a session revoked (idempotent). kNotFound if it does not exist.
  virtual Status RevokeSession(const std::string& id, std::int64_t now) = 0;
  // Deletes sessions that expired before `now` (housekeeping). Returns how many.
  virtual Result<std::int64_t> DeleteExpiredSessions(std::int64_t now) = 0;
};

// Opens (creating if needed) the SQLite store at `path` and applies pending migrations.
Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path);

}  // namespace lattice::store
