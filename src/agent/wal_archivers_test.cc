// WalArchivers against the in-memory FakeRuntime: an archiver per wanted database, in its
// network namespace; started again when it exits or its database container is replaced; its
// slot dropped when the policy goes; removed with its workload. Hermetic: no engine.
#include "agent/wal_archivers.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "agent/fake_runtime.h"

namespace lattice::agent {
namespace {

using namespace std::chrono_literals;

class WalArchiversTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StartDatabase();
    WalArchiverOptions o;
    o.restart_gap = 0s;
    o.drop_slot_timeout = 10s;
    o.healthy_after = 0s;
    o.node_id = "node_1";
    archivers_ = std::make_unique<WalArchivers>(
        rt_,
        [this](const std::string& id) -> std::optional<DatabaseAccess> {
          if (id != "wl_a" || !assigned_) return std::nullopt;
          return DatabaseAccess{"lattice-wl_a", "u1", "pw1"};
        },
        o, [this](link::ArchiveStatus s) { statuses_.push_back(std::move(s)); });
  }
  void StartDatabase() {
    runtime::ContainerSpec db;
    db.name = "lattice-wl_a";
    db.image = "postgres:15";
    auto id = rt_.Create(db);
    ASSERT_TRUE(id.ok());
    ASSERT_TRUE(rt_.Start(*id).ok());
  }
  static link::BackupTargetSpec Target() {
    return {"https://s3.example:9000", "backups", "", "clusters", "AK", "SK", "", 0};
  }
  std::optional<runtime::ContainerInfo> Archiver() {
    auto c = rt_.Inspect(ArchiverName("wl_a"));
    if (!c.ok()) return std::nullopt;
    return *c;
  }

  testing::FakeRuntime rt_;
  std::atomic<bool> assigned_{true};
  std::vector<link::ArchiveStatus> statuses_;  // what the server was told, in order
  std::unique_ptr<WalArchivers> archivers_;
};

TEST_F(WalArchiversTest, AnotherNodesArchiverOnTheSameEngineIsLeftAlone) {
  runtime::ContainerSpec theirs;
  theirs.name = ArchiverName("wl_b");
  theirs.image = "lattice/pgtools:15";
  theirs.labels = {{kLabelArchiver, "wl_b"}, {"lattice.node", "node_2"}};
  auto id = rt_.Create(theirs);
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(rt_.Start(*id).ok());
  archivers_->Set({"wl_a", Target()});
  archivers_->Reconcile();
  archivers_->Reconcile();
  auto still = rt_.Inspect(ArchiverName("wl_b"));
  ASSERT_TRUE(still.ok());
  EXPECT_TRUE(still->running);
  EXPECT_EQ(rt_.SpecOf(ArchiverName("wl_a")).labels.at("lattice.node"), "node_1");
}

TEST_F(WalArchiversTest, TheServerHearsWhenArchivingWorksFailsWithTheToolsReasonAndRecovers) {
  archivers_->Set({"wl_a", Target()});
  archivers_->Reconcile();  // started
  archivers_->Reconcile();  // up (for `healthy_after`): archiving
  archivers_->Reconcile();  // nothing new: nothing sent
  ASSERT_EQ(statuses_.size(), 1u);
  EXPECT_TRUE(statuses_[0].ok);
  EXPECT_EQ(statuses_[0].workload_id, "wl_a");

  rt_.Exit(ArchiverName("wl_a"), 1,
           "2026-12-07T10:00:00Z lattice-pgtool: error\n"
           R"({"ok":false,"error":"target-auth","message":"the keys were refused"})");
  archivers_->Reconcile();  // exited: failing, with the tool's reason; started again
  ASSERT_EQ(statuses_.size(), 2u);
  EXPECT_FALSE(statuses_[1].ok);
  EXPECT_EQ(statuses_[1].error_code, "target-auth");
  EXPECT_EQ(statuses_[1].message, "the keys were refused");

  rt_.Exit(ArchiverName("wl_a"), 137, "");  // killed, saying nothing
  archivers_->Reconcile();
  ASSERT_EQ(statuses_.size(), 3u);
  EXPECT_EQ(statuses_[2].error_code, "archiver-exited");
  EXPECT_NE(statuses_[2].message.find("137"), std::string::npos);

  archivers_->Reconcile();  // the restarted one is up: archiving again
  ASSERT_EQ(statuses_.size(), 4u);
  EXPECT_TRUE(statuses_[3].ok);
  // The server says it again (its agent reconnected): it hears the state again.
  archivers_->Set({"wl_a", Target()});
  archivers_->Reconcile();
  ASSERT_EQ(statuses_.size(), 5u);
  EXPECT_TRUE(statuses_[4].ok);
}

TEST_F(WalArchiversTest, AWantedDatabaseGetsOneArchiverInItsNamespaceRestartedWhenItExits) {
  archivers_->Set({"wl_a", Target()});
  archivers_->Reconcile();
  auto a = Archiver();
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->running);
  const runtime::ContainerSpec spec = rt_.SpecOf(ArchiverName("wl_a"));
  EXPECT_EQ(spec.network, "container:lattice-wl_a");
  EXPECT_EQ(spec.command, (std::vector<std::string>{
                              "wal", "--bucket", "backups", "--prefix", "clusters/wl_a",
                              "--target-config", "/var/lib/lattice-pgtool/target.conf",
                              "--pgpass-file", "/var/lib/lattice-pgtool/pgpass", "--user", "u1",
                              "--spool", "/var/lib/lattice-pgtool/spool", "--interval", "15"}));
  EXPECT_TRUE(spec.ports.empty());
  EXPECT_TRUE(spec.confinement.cap_add.empty());
  const int creates = rt_.creates();
  archivers_->Reconcile();
  EXPECT_EQ(rt_.creates(), creates) << "a running archiver is left alone";

  // It exits (the database container restarted under it): started again.
  rt_.Exit(ArchiverName("wl_a"), 1, R"({"ok":false,"error":"database-unreachable"})");
  archivers_->Reconcile();
  a = Archiver();
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->running);
  EXPECT_EQ(rt_.creates(), creates + 1);

  // The database container is replaced (a new id): the archiver joins the new one.
  auto old_db = rt_.Inspect("lattice-wl_a");
  ASSERT_TRUE(rt_.Remove(old_db->id).ok());
  StartDatabase();
  archivers_->Reconcile();
  a = Archiver();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->labels.at("lattice.db"), rt_.Inspect("lattice-wl_a")->id);

  // The policy names another bucket: the archiver is replaced.
  link::BackupTargetSpec other = Target();
  other.bucket = "elsewhere";
  archivers_->Set({"wl_a", other});
  archivers_->Reconcile();
  EXPECT_EQ(rt_.SpecOf(ArchiverName("wl_a")).command[2], "elsewhere");
  ASSERT_TRUE(Archiver() && Archiver()->running);

  // A stopped database gets no archiver until it runs again.
  ASSERT_TRUE(rt_.Stop("lattice-wl_a", 1s).ok());
  rt_.Exit(ArchiverName("wl_a"), 1, "{}");
  archivers_->Reconcile();
  EXPECT_FALSE(Archiver() && Archiver()->running);
}

TEST_F(WalArchiversTest, ARemovedPolicyStopsTheArchiverAndDropsItsSlot) {
  archivers_->Set({"wl_a", Target()});
  archivers_->Reconcile();
  ASSERT_TRUE(Archiver());
  archivers_->Set({"wl_a", std::nullopt});
  const std::string job = ArchiverName("wl_a") + "-dropslot";
  std::thread pass([&] { archivers_->Reconcile(); });
  // The drop-slot job runs in the database's namespace; the pass waits for its result.
  for (int i = 0; i < 400 && !rt_.Inspect(job).ok(); ++i) std::this_thread::sleep_for(5ms);
  ASSERT_TRUE(rt_.Inspect(job).ok());
  EXPECT_EQ(rt_.SpecOf(job).network, "container:lattice-wl_a");
  EXPECT_EQ(rt_.SpecOf(job).command.front(), "drop-slot");
  EXPECT_FALSE(Archiver()) << "stopped before its slot is dropped";
  rt_.Exit(job, 0, R"({"ok":true,"slot":"lattice_wal","dropped":true})");
  pass.join();
  EXPECT_FALSE(rt_.Inspect(job).ok());
  const int creates = rt_.creates();
  archivers_->Reconcile();
  EXPECT_EQ(rt_.creates(), creates) << "done once: nothing is left to do";
}

TEST_F(WalArchiversTest, AnArchiverWhoseWorkloadLeftTheNodeIsRemoved) {
  archivers_->Set({"wl_a", Target()});
  archivers_->Reconcile();
  ASSERT_TRUE(Archiver());
  assigned_ = false;  // deleted (its database, and the slot in it, went with it)
  archivers_->Reconcile();
  EXPECT_FALSE(Archiver());
  EXPECT_FALSE(rt_.Inspect(ArchiverName("wl_a") + "-dropslot").ok());
}

}  // namespace
}  // namespace lattice::agent
