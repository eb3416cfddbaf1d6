// Placer on a real SQLite store with a manual clock: placement passes, the tally kept between
// them, what is written and told, and the pure plan.
#include "control/placer.h"

#include <gtest/gtest.h>

#include <set>

#include "store/testing/temp_sqlite.h"

namespace lattice::control {
namespace {

class PlacerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    placer_ = std::make_unique<Placer>(
        *store_, clock_,
        Placer::Hooks{[this](const store::Node& n) { return !unlinked_.count(n.id); },
                      [this](const store::Workload& w, WorkloadStatus s, const std::string& m) {
                        told_.push_back({w.id, w.node_id, s, m});
                      }});
  }

  void AddNode(const std::string& id, std::int64_t memory_mb) {
    const std::string hash = "hash-" + id;
    ASSERT_TRUE(store_->CreateJoinToken({"jt-" + id, hash, "usr_1", 1, 1 << 30, {}, ""}).ok());
    store::Node n;
    n.id = id;
    n.name = id;
    n.memory_mb = memory_mb;
    n.cpus = 2;
    ASSERT_TRUE(store_->JoinNode(hash, n, 2).ok());
    ASSERT_TRUE(store_->SetNodeStatus(id, NodeStatus::kReady, 2).ok());
  }
  void AddWorkload(const std::string& id, std::int64_t memory_mb) {
    store::Workload w;
    w.id = id;
    w.owner_id = "usr_1";
    w.name = id;
    w.template_name = "custom";
    w.image = "lattice/busybox:dev";
    w.memory_mb = memory_mb;
    w.created_at = w.updated_at = static_cast<std::int64_t>(++created_);
    ASSERT_TRUE(store_->CreateWorkload(w, {}).ok());
  }
  store::Workload Get(const std::string& id) { return store_->GetWorkload(id).value(); }

  struct Told {
    std::string id, node;
    WorkloadStatus status;
    std::string message;
  };
  store::testing::TempSqlite db_{"lattice-placer"};
  store::sqlite::SqliteStore* store_ = &db_.store();
  ManualClock clock_{1000};
  std::unique_ptr<Placer> placer_;
  std::set<std::string> unlinked_;
  std::vector<Told> told_;
  int created_ = 0;
};

TEST_F(PlacerTest, APassSpreadsByFreeMemoryAndNeverOverfillsANode) {
  AddNode("node_a", 1000);
  AddNode("node_b", 800);
  for (const char* id : {"wl_1", "wl_2", "wl_3"}) AddWorkload(id, 500);
  const auto placed = placer_->Pass();
  // wl_1 → a (1000 free), wl_2 → b (800 > 500 left on a), wl_3 → a (500 = 500, ties: smaller id)
  EXPECT_EQ(placed, (std::map<std::string, std::string>{
                        {"wl_1", "node_a"}, {"wl_2", "node_b"}, {"wl_3", "node_a"}}));
  EXPECT_EQ(Get("wl_2").status, WorkloadStatus::kScheduled);
  EXPECT_EQ(Get("wl_2").node_id, "node_b");
  ASSERT_EQ(told_.size(), 3u);
  EXPECT_EQ(told_[0].message, "placed on node node_a");
  EXPECT_EQ(told_[0].node, "node_a");

  // The tally carries over: 0 MB left on a, 300 on b, so 400 MB fits nowhere.
  AddWorkload("wl_4", 400);
  told_.clear();
  EXPECT_TRUE(placer_->Pass().empty());
  ASSERT_EQ(told_.size(), 1u);
  EXPECT_EQ(told_[0].status, WorkloadStatus::kPending);
  EXPECT_EQ(Get("wl_4").status, WorkloadStatus::kPending);
  EXPECT_NE(Get("wl_4").status_reason.find("waiting for a node: no node has 400 MB free"),
            std::string::npos)
      << Get("wl_4").status_reason;
  // Asked again with nothing changed: the reason is not written or told twice.
  told_.clear();
  EXPECT_TRUE(placer_->Pass().empty());
  EXPECT_TRUE(told_.empty());
}

TEST_F(PlacerTest, TheTallyIsRecountedOnlyWhenToldAndNodesRereadOnlyWhenChanged) {
  AddNode("node_a", 1000);
  AddWorkload("wl_1", 600);
  ASSERT_EQ(placer_->Pass().size(), 1u);
  // wl_1 is deleted behind the placer's back: its tally still counts 600 MB…
  ASSERT_TRUE(store_
                  ->SetDesiredState("wl_1", DesiredState::kDeleted, WorkloadStatus::kDeleting,
                                    clock_.NowSeconds())
                  .ok());
  AddWorkload("wl_2", 600);
  EXPECT_TRUE(placer_->Pass().empty());
  // …until it is told to recount.
  placer_->Recount();
  EXPECT_EQ(placer_->Pass(), (std::map<std::string, std::string>{{"wl_2", "node_a"}}));

  // A node that joins is seen only after NodesChanged.
  AddWorkload("wl_3", 900);
  EXPECT_TRUE(placer_->Pass().empty());
  AddNode("node_b", 1000);
  EXPECT_TRUE(placer_->Pass().empty());
  placer_->NodesChanged();
  EXPECT_EQ(placer_->Pass(), (std::map<std::string, std::string>{{"wl_3", "node_b"}}));
}

TEST_F(PlacerTest, ANodeWhoseLinkIsDownTakesNothing) {
  AddNode("node_a", 4000);
  AddNode("node_b", 1000);
  unlinked_.insert("node_a");
  AddWorkload("wl_1", 100);
  EXPECT_EQ(placer_->Pass(), (std::map<std::string, std::string>{{"wl_1", "node_b"}}));
}

TEST(PlanPlacements, IsPureAndSkipsWhatIsNotMeantToRun) {
  std::vector<scheduler::NodeView> view = {{"n1", "n1", true, 1000, 0, 1}};
  std::vector<store::Workload> pending(3);
  pending[0].id = "a";
  pending[0].memory_mb = 0;  // the default request: 256 MB
  pending[1].id = "b";
  pending[1].desired_state = DesiredState::kStopped;
  pending[2].id = "c";
  pending[2].memory_mb = 800;
  const auto d = PlanPlacements(pending, view);
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].node_id, "n1");
  EXPECT_EQ(view[0].allocated_mb, scheduler::kDefaultRequestMb);
  EXPECT_EQ(d[1].workload_id, "c");
  EXPECT_TRUE(d[1].node_id.empty());  // 800 > 1000 - 256
  EXPECT_FALSE(d[1].reason.empty());
}

}  // namespace
}  // namespace lattice::control
