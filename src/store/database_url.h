// The --database setting: which engine the store uses, and how to show its URL safely.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace lattice::store {

enum class Engine { kSqlite, kPostgres };

struct DatabaseChoice {
  Engine engine = Engine::kSqlite;
  std::string url;  // the PostgreSQL URL; empty for SQLite
};

// "" or "sqlite" → SQLite in the data dir; "postgres://…" or "postgresql://…" → PostgreSQL.
// Anything else is kInvalidArgument, with a message that never repeats a password.
Result<DatabaseChoice> ParseDatabaseUrl(std::string_view database);

// `url` with any password (user:PASSWORD@ and ?password=/sslpassword= query values) replaced
// by "***", for logs and error messages.
std::string RedactDatabaseUrl(std::string_view url);

}  // namespace lattice::store
