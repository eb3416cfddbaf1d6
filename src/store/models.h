// Records the store persists. Plain data, no behaviour.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace lattice::store {

struct User {
  std::string id;
  std::string email;          // normalised: trimmed, lower-case
  std::string password_hash;  // argon2id, libsodium's encoded form
  std::string role;           // "admin" or "user"
  std::int64_t created_at = 0;
  std::int64_t password_changed_at = 0;
};

// A sign-in session. The bearer token names it by `id`; only a hash of the token's secret is
// stored, so a copy of the database does not yield usable tokens.
struct Session {
  std::string id;
  std::string user_id;
  std::string secret_hash;  // hex SHA-256 of the token's secret part
  std::int64_t created_at = 0;
  std::int64_t expires_at = 0;
  std::optional<std::int64_t> revoked_at;
  std::string created_from;  // client address at sign-in
};

// A session together with its user: what every authenticated request needs, in one lookup.
struct SessionWithUser {
  Session session;
  User user;
};

}  // namespace lattice::store
