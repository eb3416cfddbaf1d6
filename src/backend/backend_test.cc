// OpenBackend picks the engine and the matching coordination: SQLite is one process that always
// leads; PostgreSQL (a throwaway cluster) is shared and campaigns for leadership; a setting
// that is neither is refused without echoing its password.
#include "backend/backend.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "store/postgres/pg_test_cluster.h"

namespace lattice::backend {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

class BackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("lattice-backend-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string SqlitePath() const { return (dir_ / "lattice.db").string(); }

  fs::path dir_;
};

TEST_F(BackendTest, SqliteIsASoloClusterThatAlwaysLeads) {
  for (const std::string database : {"", "sqlite"}) {
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    auto b = OpenBackend(database, SqlitePath(), "rep_solo");
    ASSERT_TRUE(b.ok()) << database << ": " << b.error().message;
    ASSERT_TRUE(b->store && b->cluster);
    EXPECT_TRUE(b->store->Ping().ok());
    EXPECT_TRUE(fs::exists(SqlitePath())) << database;
    EXPECT_FALSE(b->cluster->Shared());
    EXPECT_TRUE(b->cluster->IsLeader());
    EXPECT_EQ(b->cluster->ReplicaId(), "rep_solo");
  }
}

TEST_F(BackendTest, AnythingElseIsInvalidAndKeepsThePasswordOut) {
  for (const std::string database : {"mysql://admin:hunter2@db/lattice", "sqlite3", "postgres:/"}) {
    auto b = OpenBackend(database, SqlitePath(), "rep_x");
    ASSERT_FALSE(b.ok()) << database;
    EXPECT_EQ(b.error().code, ErrorCode::kInvalidArgument) << database;
    EXPECT_EQ(b.error().message.find("hunter2"), std::string::npos);
  }
  EXPECT_FALSE(fs::exists(SqlitePath()));
}

TEST_F(BackendTest, UnreachablePostgresIsUnavailable) {
  store::StoreOptions options;
  options.round_trip_deadline = 2s;
  // Port 1 on loopback: nothing listens there, so the connection is refused at once.
  auto b = OpenBackend("postgres://lattice@127.0.0.1:1/lattice", SqlitePath(), "rep_x", options);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().code, ErrorCode::kUnavailable) << b.error().message;
}

TEST_F(BackendTest, PostgresIsASharedClusterOnTheSameDatabase) {
  auto pg = store::postgres::TestCluster::Shared();
  ASSERT_TRUE(pg.ok()) << pg.error().message;
  auto url = (*pg)->CreateDatabase();
  ASSERT_TRUE(url.ok()) << url.error().message;

  auto b = OpenBackend(*url, SqlitePath(), "rep_pg");
  ASSERT_TRUE(b.ok()) << b.error().message;
  ASSERT_TRUE(b->store && b->cluster);
  EXPECT_TRUE(b->store->Ping().ok());
  EXPECT_FALSE(fs::exists(SqlitePath())) << "no SQLite file on PostgreSQL";
  EXPECT_TRUE(b->cluster->Shared());
  EXPECT_EQ(b->cluster->ReplicaId(), "rep_pg");
  EXPECT_FALSE(b->cluster->IsLeader()) << "leadership is campaigned for only once started";

  // Alone on its database, the started replica wins leadership within a few campaigns.
  b->cluster->SetHandler([](const std::string&, const boost::json::object&) {});
  b->cluster->Start();
  const auto end = std::chrono::steady_clock::now() + 10s;
  while (!b->cluster->IsLeader() && std::chrono::steady_clock::now() < end)
    std::this_thread::sleep_for(20ms);
  EXPECT_TRUE(b->cluster->IsLeader());
  b->cluster->Stop();
}

}  // namespace
}  // namespace lattice::backend
