// What only the PostgreSQL store has to get right (the shared contract is store_test.cc):
// several stores (as several server processes would) on one database, migrations racing,
// connections lost under the pool, a server that is down, slow or frozen.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <latch>
#include <thread>

#include "common/random.h"
#include "common/test_env.h"
#include "store/migrations.h"
#include "store/postgres/pg_store.h"
#include "store/postgres/pg_test_cluster.h"

namespace lattice::store::postgres {
namespace {

using Clock = std::chrono::steady_clock;

User NewUser(const std::string& email) {
  return User{NewId("usr"), email, "hash", "", 100, 100};
}

class PostgresStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    InitCrypto();
    auto c = TestCluster::Shared();
    if (!c.ok()) {
      LATTICE_SKIP_UNLESS_REQUIRED() << "postgres: " << c.error().message;
    }
    cluster_ = *c;
    auto url = cluster_->CreateDatabase();
    ASSERT_TRUE(url.ok()) << url.error().message;
    url_ = *url;
    db_ = url_.substr(url_.rfind('/') + 1);
  }

  Result<std::unique_ptr<PostgresStore>> Open(
      PoolOptions pool = {},
      std::chrono::milliseconds deadline = std::chrono::milliseconds(20000)) {
    ConnectOptions o;
    o.url = url_;
    o.round_trip_deadline = deadline;
    return PostgresStore::Open(o, pool);
  }

  // A plain connection for checks the Store interface does not offer.
  std::unique_ptr<Connection> Raw() {
    ConnectOptions o;
    o.url = url_;
    auto c = Connection::Open(o);
    EXPECT_TRUE(c.ok()) << c.error().message;
    return c.ok() ? std::move(c).value() : nullptr;
  }

  std::int64_t QueryInt(const std::string& sql) {
    auto c = Raw();
    if (!c) return -1;
    auto r = c->Exec(sql);
    EXPECT_TRUE(r.ok()) << sql << ": " << r.error().message;
    return r.ok() ? r->Int(0, 0) : -1;
  }

  // Server processes serving the store (application_name 'lattice') in this test's database.
  std::int64_t StoreBackends() {
    return QueryInt(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'lattice' "
        "AND datname = current_database() AND pid <> pg_backend_pid()");
  }

  TestCluster* cluster_ = nullptr;
  std::string url_;
  std::string db_;
};

TEST_F(PostgresStoreTest, FirstUserIsTheOnlyAdminAcrossSeveralProcesses) {
  // Four stores stand for four server replicas: separate pools, separate connections. A race
  // shows only sometimes, so several rounds, each on a fresh database with warm pools and
  // every sign-up released at the same instant.
  for (int round = 0; round < 5; ++round) {
    if (round > 0) {
      auto url = cluster_->CreateDatabase();
      ASSERT_TRUE(url.ok()) << url.error().message;
      url_ = *url;
    }
    std::vector<std::unique_ptr<PostgresStore>> replicas;
    for (int i = 0; i < 4; ++i) {
      auto s = Open();
      ASSERT_TRUE(s.ok()) << s.error().message;
      replicas.push_back(std::move(s).value());
    }
    std::vector<std::thread> warm;
    for (int i = 0; i < 16; ++i) warm.emplace_back([&, i] { (void)replicas[i % 4]->Ping(); });
    for (auto& t : warm) t.join();

    std::atomic<int> admins{0}, created{0};
    std::latch go(16);
    std::vector<std::thread> threads;
    for (int i = 0; i < 16; ++i) {
      threads.emplace_back([&, i] {
        go.arrive_and_wait();
        auto u = replicas[i % 4]->CreateUser(NewUser("u" + std::to_string(i) + "@x.io"), {});
        if (u.ok()) {
          ++created;
          if (u->role == "admin") ++admins;
        }
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(created.load(), 16) << "round " << round;
    EXPECT_EQ(admins.load(), 1) << "round " << round;
    EXPECT_EQ(QueryInt("SELECT count(*) FROM users WHERE role = 'admin'"), 1) << "round " << round;
  }
}

TEST_F(PostgresStoreTest, ReplicasAllocatingPublicPortsNeverCollide) {
  std::vector<std::unique_ptr<PostgresStore>> replicas;
  for (int i = 0; i < 4; ++i) {
    auto s = Open();
    ASSERT_TRUE(s.ok()) << s.error().message;
    replicas.push_back(std::move(s).value());
  }
  auto owner = replicas[0]->CreateUser(NewUser("p@x.io"), {});
  ASSERT_TRUE(owner.ok());
  for (int i = 0; i < 12; ++i) {
    Workload w;
    w.id = "wl_" + std::to_string(i);
    w.owner_id = owner->id;
    w.name = w.id;
    w.template_name = "custom";
    w.image = "img";
    w.spec_enc = "s";
    w.credentials_enc = "c";
    ASSERT_TRUE(replicas[0]->CreateWorkload(w, {}).ok());
  }
  std::atomic<int> failures{0};
  std::latch go(12);
  std::vector<std::thread> threads;
  for (int i = 0; i < 12; ++i) {
    threads.emplace_back([&, i] {
      go.arrive_and_wait();
      auto p = replicas[i % 4]->AllocatePublicPorts("wl_" + std::to_string(i), {80, 443}, 20000,
                                                    20100, [](int) { return true; });
      if (!p.ok() || p->size() != 2) ++failures;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  auto all = replicas[1]->ListPublicPorts();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 24u);
  for (std::size_t i = 0; i < all->size(); ++i)
    EXPECT_EQ((*all)[i].port, 20000 + static_cast<int>(i));  // dense, no duplicates
}

TEST_F(PostgresStoreTest, ReplicasStartingTogetherMigrateExactlyOnce) {
  std::atomic<int> ok{0};
  std::vector<std::string> errors(6);
  std::vector<std::thread> threads;
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&, i] {
      auto s = Open();
      if (s.ok())
        ++ok;
      else
        errors[i] = s.error().message;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 6) << errors[0] << errors[1] << errors[2];
  EXPECT_EQ(QueryInt("SELECT count(*) FROM schema_migrations"),
            static_cast<std::int64_t>(Migrations().size()));
  EXPECT_EQ(QueryInt("SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND "
                     "tablename = 'users'"),
            1);
}

TEST_F(PostgresStoreTest, TerminatedConnectionsAreReplacedOnTheNextCall) {
  auto store = Open();
  ASSERT_TRUE(store.ok()) << store.error().message;
  auto u = (*store)->CreateUser(NewUser("a@x.io"), {});
  ASSERT_TRUE(u.ok());
  // Put several connections into the pool, then kill every one of them server-side.
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) threads.emplace_back([&] { EXPECT_TRUE((*store)->Ping().ok()); });
  for (auto& t : threads) t.join();
  ASSERT_GE(StoreBackends(), 1);
  ASSERT_TRUE(cluster_
                  ->Exec(db_,
                         "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                         "application_name = 'lattice' AND datname = current_database()")
                  .ok());
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  while (StoreBackends() > 0 && Clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_EQ(StoreBackends(), 0);

  auto got = (*store)->GetUserByEmail("a@x.io");
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_EQ(got->id, u->id);
  EXPECT_TRUE((*store)->CreateUser(NewUser("b@x.io"), {}).ok());
}

TEST_F(PostgresStoreTest, ServerOutageIsUnavailableThenRecovers) {
  auto store = Open();
  ASSERT_TRUE(store.ok()) << store.error().message;
  ASSERT_TRUE((*store)->CreateUser(NewUser("a@x.io"), {}).ok());
  ASSERT_TRUE(cluster_->Stop().ok());
  const auto start = Clock::now();
  Status down = (*store)->Ping();
  auto user = (*store)->GetUserByEmail("a@x.io");
  const auto took = Clock::now() - start;
  ASSERT_TRUE(cluster_->Restart().ok());  // before any assertion can end the test
  ASSERT_FALSE(down.ok());
  EXPECT_EQ(down.error().code, ErrorCode::kUnavailable);
  ASSERT_FALSE(user.ok());
  EXPECT_EQ(user.error().code, ErrorCode::kUnavailable);
  EXPECT_LT(took, std::chrono::seconds(2));
  EXPECT_TRUE((*store)->Ping().ok());
  EXPECT_TRUE((*store)->GetUserByEmail("a@x.io").ok());
}

TEST_F(PostgresStoreTest, UnreachableServerIsUnavailableQuickly) {
  // Nothing listens on the port: refused at once.
  const int closed = [] {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return static_cast<int>(ntohs(a.sin_port));
  }();
  auto start = Clock::now();
  auto s = OpenPostgresStore("postgres://lattice:s3cret-pw@127.0.0.1:" + std::to_string(closed) +
                             "/nowhere");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kUnavailable);
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(2));
  EXPECT_EQ(s.error().message.find("s3cret-pw"), std::string::npos) << s.error().message;

  // A listener that accepts TCP but never speaks: the connect timeout ends the wait.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(fd, 16), 0);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  start = Clock::now();
  s = OpenPostgresStore("postgres://lattice@127.0.0.1:" + std::to_string(ntohs(a.sin_port)) +
                        "/x?connect_timeout=2");
  const auto took = Clock::now() - start;
  ::close(fd);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kUnavailable);
  EXPECT_LT(took, std::chrono::seconds(5));
}

TEST_F(PostgresStoreTest, StatementTimeoutIsUnavailableAndTheConnectionStaysUsable) {
  ConnectOptions o;
  o.url = url_ + "?options=-c%20statement_timeout%3D300";
  auto store = PostgresStore::Open(o, PoolOptions{1, std::chrono::milliseconds(5000)});
  ASSERT_TRUE(store.ok()) << store.error().message;
  ASSERT_TRUE((*store)->CreateUser(NewUser("a@x.io"), {}).ok());
  auto locker = Raw();
  ASSERT_TRUE(locker);
  ASSERT_TRUE(locker->ExecScript("BEGIN; LOCK TABLE users IN ACCESS EXCLUSIVE MODE").ok());
  const auto start = Clock::now();
  auto blocked = (*store)->GetUserByEmail("a@x.io");
  const auto took = Clock::now() - start;
  ASSERT_TRUE(locker->ExecScript("ROLLBACK").ok());
  ASSERT_FALSE(blocked.ok());
  EXPECT_EQ(blocked.error().code, ErrorCode::kUnavailable) << blocked.error().message;
  EXPECT_LT(took, std::chrono::seconds(3));
  EXPECT_TRUE((*store)->GetUserByEmail("a@x.io").ok());
}

TEST_F(PostgresStoreTest, FrozenServerHitsTheClientDeadline) {
  auto store =
      Open(PoolOptions{1, std::chrono::milliseconds(5000)}, std::chrono::milliseconds(500));
  ASSERT_TRUE(store.ok()) << store.error().message;
  ASSERT_TRUE((*store)->Ping().ok());
  const std::int64_t pid = QueryInt(
      "SELECT pid FROM pg_stat_activity WHERE application_name = 'lattice' AND "
      "datname = current_database() AND pid <> pg_backend_pid()");
  ASSERT_GT(pid, 0);
  // The backend stops answering (as a hung host would); TCP stays up.
  ASSERT_EQ(::kill(static_cast<pid_t>(pid), SIGSTOP), 0);
  const auto start = Clock::now();
  Status frozen = (*store)->Ping();
  const auto took = Clock::now() - start;
  ::kill(static_cast<pid_t>(pid), SIGCONT);
  ASSERT_FALSE(frozen.ok());
  EXPECT_EQ(frozen.error().code, ErrorCode::kUnavailable);
  EXPECT_LT(took, std::chrono::seconds(3));
  EXPECT_TRUE((*store)->Ping().ok());  // on a new connection
}

TEST_F(PostgresStoreTest, ThePoolIsBounded) {
  auto store = Open(PoolOptions{2, std::chrono::milliseconds(10000)});
  ASSERT_TRUE(store.ok()) << store.error().message;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 12; ++i) {
    threads.emplace_back([&] {
      for (int j = 0; j < 20; ++j)
        if (!(*store)->Ping().ok()) ++failures;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_LE(StoreBackends(), 2);
}

TEST_F(PostgresStoreTest, UniqueViolationsAreConflicts) {
  auto store = Open();
  ASSERT_TRUE(store.ok()) << store.error().message;
  auto u = (*store)->CreateUser(NewUser("a@x.io"), {});
  ASSERT_TRUE(u.ok());
  ASSERT_TRUE((*store)->CreateSession({"s1", u->id, "h", 1, 2, std::nullopt, ""}).ok());
  auto dup = (*store)->CreateSession({"s1", u->id, "h", 1, 2, std::nullopt, ""});
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code, ErrorCode::kConflict);
}

TEST_F(PostgresStoreTest, HostileTextIsDataNotSql) {
  auto store = Open();
  ASSERT_TRUE(store.ok()) << store.error().message;
  const std::string email = "x'); DROP TABLE users; --@x.io";
  ASSERT_TRUE((*store)->CreateUser(NewUser(email), {}).ok());
  auto got = (*store)->GetUserByEmail(email);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->email, email);
  auto nul = (*store)->GetUserByEmail(std::string("a\0b", 3));
  ASSERT_FALSE(nul.ok());
  EXPECT_EQ(nul.error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace lattice::store::postgres
