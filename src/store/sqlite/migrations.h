// The SQLite schema as numbered migrations, applied in order at start-up inside one
// transaction each and recorded in `schema_migrations`. Never edit a released migration;
// append a new one.
#pragma once

#include <vector>

namespace lattice::store::sqlite {

struct Migration {
  int version;
  const char* name;
  const char* sql;
};

const std::vector<Migration>& Migrations();

}  // namespace lattice::store::sqlite
