// The schema as numbered migrations, one list for every engine: each entry carries the same
// change in SQLite's and in PostgreSQL's dialect, so adding migration N is one new entry here
// (and a test in store_test.cc that exercises it on both engines). Each engine applies the
// pending ones at start-up inside a transaction and records them in `schema_migrations`; a
// database whose schema is newer than LatestSchemaVersion() is refused. Never edit a released
// migration; append a new one.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lattice::store {

struct Migration {
  int version;  // 1, 2, 3, … without gaps
  const char* name;
  const char* sqlite;    // SQLite dialect
  const char* postgres;  // PostgreSQL dialect: BIGINT seconds, BYTEA, DOUBLE PRECISION, IDENTITY
};

const std::vector<Migration>& Migrations();

// The version of the last migration: the schema this binary expects.
int LatestSchemaVersion();

// The start-up error for a database migrated by a newer binary to schema version `found`.
std::string SchemaTooNewMessage(std::int64_t found);

}  // namespace lattice::store
