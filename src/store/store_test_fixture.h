// The engines the Store contract suite runs on, and its fixture: shared by store_test.cc and
// backup_store_test.cc (tests only). PostgreSQL runs in a throwaway cluster (one per test
// binary, a fresh database per test); without PostgreSQL installed its half is skipped,
// except under the project's test command (LATTICE_REQUIRE_DOCKER), where it fails.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>

#include "common/random.h"
#include "common/test_env.h"
#include "store/postgres/pg_store.h"
#include "store/postgres/pg_test_cluster.h"
#include "store/sqlite/sqlite_store.h"
#include "store/store.h"

namespace lattice::store {

namespace fs = std::filesystem;
using postgres::TestCluster;

struct Impl {
  std::string name;
  // Ok, or why the engine cannot run here.
  std::function<Status()> available;
  // Opens the store kept in `dir` (the same data on every call with the same dir).
  std::function<Result<std::unique_ptr<Store>>(const fs::path& dir)> open;
  // Runs raw SQL on the store's database, behind the store's back (as a newer release, or an
  // operator with a database shell, would).
  std::function<Status(const fs::path& dir, const std::string& sql)> exec;
};
inline void PrintTo(const Impl& impl, std::ostream* os) {
  *os << impl.name;
}

inline Impl SqliteImpl() {
  return {"sqlite", [] { return Status::Ok(); },
          [](const fs::path& dir) { return OpenSqliteStore((dir / "lattice.db").string()); },
          [](const fs::path& dir, const std::string& sql) -> Status {
            auto c = sqlite::Connection::Open((dir / "lattice.db").string());
            if (!c.ok()) return std::move(c).error();
            return (*c)->Exec(sql.c_str());
          }};
}

// The test's database: created on the first open for `dir`, its name kept in dir/pg.db.
inline Result<std::string> PostgresDatabase(const fs::path& dir) {
  auto cluster = TestCluster::Shared();
  if (!cluster.ok()) return std::move(cluster).error();
  const fs::path marker = dir / "pg.db";
  std::string name;
  if (std::ifstream in(marker); in >> name) return name;
  const std::string db = NewId("db");
  if (Status s = (*cluster)->Exec("postgres", "CREATE DATABASE " + db); !s.ok())
    return std::move(s).error();
  std::ofstream(marker) << db;
  return db;
}

inline Impl PostgresImpl() {
  return {"postgres",
          []() -> Status {
            auto c = TestCluster::Shared();
            if (!c.ok()) return std::move(c).error();
            return Status::Ok();
          },
          [](const fs::path& dir) -> Result<std::unique_ptr<Store>> {
            auto db = PostgresDatabase(dir);
            if (!db.ok()) return std::move(db).error();
            return OpenPostgresStore((*TestCluster::Shared())->Url(*db));
          },
          [](const fs::path& dir, const std::string& sql) -> Status {
            auto db = PostgresDatabase(dir);
            if (!db.ok()) return std::move(db).error();
            return (*TestCluster::Shared())->Exec(*db, sql);
          }};
}

class StoreTest : public ::testing::TestWithParam<Impl> {
 protected:
  void SetUp() override {
    InitCrypto();
    dir_ = fs::temp_directory_path() / ("lattice-store-" + RandomToken(8));
    fs::create_directories(dir_);
    if (Status s = GetParam().available(); !s.ok()) {
      LATTICE_SKIP_UNLESS_REQUIRED() << GetParam().name << ": " << s.error().message;
    }
    Reopen();
  }
  void Reopen() {
    store_.reset();
    auto s = GetParam().open(dir_);
    ASSERT_TRUE(s.ok()) << s.error().message;
    store_ = std::move(s).value();
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }

  static User NewUser(std::string email) {
    return User{NewId("usr"), std::move(email), "hash", "", 100, 100};
  }

  fs::path dir_;
  std::unique_ptr<Store> store_;
};

}  // namespace lattice::store
