// TempSqlite (tests only): a SQLite store in a fresh temporary directory, with one user
// (`usr_1`, a@x.io) in it, removed with the object. The directory is unique per process and
// test, so tests may run in parallel.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "store/sqlite/sqlite_store.h"

namespace lattice::store::testing {

class TempSqlite {
 public:
  // Fails the current test (and leaves store() null) if the store cannot be opened.
  explicit TempSqlite(const std::string& prefix) {
    dir_ = std::filesystem::temp_directory_path() /
           (prefix + "-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    auto s = sqlite::SqliteStore::Open((dir_ / "lattice.db").string());
    if (!s.ok()) {
      ADD_FAILURE() << s.error().message;
      return;
    }
    store_ = std::move(s).value();
    auto u = store_->CreateUser({"usr_1", "a@x.io", "hash", "user", 1, 1}, {});
    if (!u.ok()) ADD_FAILURE() << u.error().message;
    user_ = u.ok() ? std::move(u).value() : User{};
  }
  ~TempSqlite() {
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  TempSqlite(const TempSqlite&) = delete;
  TempSqlite& operator=(const TempSqlite&) = delete;

  sqlite::SqliteStore& store() { return *store_; }
  const User& user() const { return user_; }

 private:
  std::filesystem::path dir_;
  std::unique_ptr<sqlite::SqliteStore> store_;
  User user_;
};

}  // namespace lattice::store::testing
