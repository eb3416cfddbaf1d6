#include "store/database_url.h"

#include <gtest/gtest.h>

namespace lattice::store {
namespace {

TEST(DatabaseUrl, SelectsTheEngine) {
  EXPECT_EQ(ParseDatabaseUrl("")->engine, Engine::kSqlite);
  EXPECT_EQ(ParseDatabaseUrl("sqlite")->engine, Engine::kSqlite);
  auto pg = ParseDatabaseUrl("postgres://u:p@db.internal:5432/lattice");
  ASSERT_TRUE(pg.ok());
  EXPECT_EQ(pg->engine, Engine::kPostgres);
  EXPECT_EQ(pg->url, "postgres://u:p@db.internal:5432/lattice");
  EXPECT_EQ(ParseDatabaseUrl("postgresql://h/db")->engine, Engine::kPostgres);
}

TEST(DatabaseUrl, AnythingElseIsAnErrorThatHidesThePassword) {
  for (const char* bad :
       {"mysql://u:hunter2@h/db", "sqlite3", "Postgres://u:hunter2@h/db", "/var/lib/lattice.db"}) {
    auto r = ParseDatabaseUrl(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(r.error().message.find("hunter2"), std::string::npos) << r.error().message;
  }
}

TEST(DatabaseUrl, RedactsPasswords) {
  EXPECT_EQ(RedactDatabaseUrl("postgres://lattice:hunter2@db:5432/lattice"),
            "postgres://lattice:***@db:5432/lattice");
  EXPECT_EQ(RedactDatabaseUrl("postgres://lattice:p@ss@db/x"), "postgres://lattice:***@db/x");
  EXPECT_EQ(RedactDatabaseUrl("postgres://lattice@db/x"), "postgres://lattice@db/x");
  EXPECT_EQ(RedactDatabaseUrl("postgres://db/x?user=a&password=hunter2&sslmode=require"),
            "postgres://db/x?user=a&password=***&sslmode=require");
  EXPECT_EQ(RedactDatabaseUrl("postgresql://u:a@b@h/x?sslpassword=k"),
            "postgresql://u:***@h/x?sslpassword=***");
  EXPECT_EQ(RedactDatabaseUrl("postgres://h:5432/x"), "postgres://h:5432/x");
}

}  // namespace
}  // namespace lattice::store
