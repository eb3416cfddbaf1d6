// The ProbeStore contract (store/probe_store.h) on both engines: current rows replaced per
// endpoint, history kept only when asked and bounded per endpoint on read, pruning by age, rows
// of unknown workloads dropped, and a deleted workload's rows going with it.
#include <gtest/gtest.h>

#include "store/store_test_fixture.h"

namespace lattice::store {
namespace {

class ProbeStoreTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    auto u = store_->CreateUser(NewUser("a@x.io"), {});
    ASSERT_TRUE(u.ok());
    for (const char* id : {"wl_1", "wl_2"}) {
      Workload w;
      w.id = id;
      w.owner_id = u->id;
      w.name = std::string("name-") + id;
      w.template_name = "postgres";
      w.image = "img";
      w.spec_enc = "s";
      w.created_at = w.updated_at = 1;
      ASSERT_TRUE(store_->CreateWorkload(w, {}).ok());
    }
  }
  ProbeStore& p() { return store_->Probes(); }

  static ProbeRecord Rec(const std::string& wl, int port, std::int64_t at, const char* state,
                         bool keep) {
    ProbeRecord r;
    r.workload_id = wl;
    r.container_port = port;
    r.public_port = 40000 + port;
    r.state = ParseEndpointState(state).value();
    r.reason = std::string(state) == "unreachable" ? "timeout" : "";
    r.message = std::string(state) == "unreachable" ? "no answer within 5 s" : "";
    r.latency_us = at * 10;
    r.at = at;
    r.changed_at = at - 1;
    r.keep = keep;
    return r;
  }
};

TEST_P(ProbeStoreTest, EachEndpointHasOneCurrentRowReplacedByTheNewestRecord) {
  ASSERT_TRUE(p().RecordProbes({Rec("wl_1", 5432, 100, "reachable", true),
                                Rec("wl_1", 80, 100, "reachable", false),
                                Rec("wl_2", 5432, 100, "reachable", false)})
                  .ok());
  ASSERT_TRUE(p().RecordProbes({Rec("wl_1", 5432, 130, "unreachable", true)}).ok());
  auto one = p().ProbeEndpoints("wl_1");
  ASSERT_TRUE(one.ok()) << one.error().message;
  ASSERT_EQ(one->size(), 2u);
  EXPECT_EQ((*one)[0].container_port, 80);
  EXPECT_EQ((*one)[1].container_port, 5432);
  EXPECT_EQ(Name((*one)[1].state), "unreachable");
  EXPECT_EQ((*one)[1].reason, "timeout");
  EXPECT_EQ((*one)[1].message, "no answer within 5 s");
  EXPECT_EQ((*one)[1].public_port, 45432);
  EXPECT_EQ((*one)[1].latency_us, 1300);
  EXPECT_EQ((*one)[1].at, 130);
  EXPECT_EQ((*one)[1].changed_at, 129);
  auto all = p().ProbeEndpoints("");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 3u);
}

TEST_P(ProbeStoreTest, HistoryHoldsOnlyKeptResultsNewestPerEndpointUpToTheLimit) {
  std::vector<ProbeRecord> batch;
  for (int i = 0; i < 10; ++i) batch.push_back(Rec("wl_1", 5432, 100 + i, "reachable", i % 2 == 0));
  batch.push_back(Rec("wl_1", 80, 105, "unreachable", true));
  batch.push_back(Rec("wl_2", 5432, 105, "reachable", true));
  ASSERT_TRUE(p().RecordProbes(batch).ok());
  auto h = p().ProbeHistory("wl_1", 0, 3);
  ASSERT_TRUE(h.ok()) << h.error().message;
  ASSERT_EQ(h->size(), 4u);  // port 80's one, then 5432's newest three kept (104, 106, 108)
  EXPECT_EQ((*h)[0].container_port, 80);
  EXPECT_EQ(Name((*h)[0].state), "unreachable");
  EXPECT_EQ((*h)[1].at, 104);
  EXPECT_EQ((*h)[2].at, 106);
  EXPECT_EQ((*h)[3].at, 108);
  auto since = p().ProbeHistory("wl_1", 106, 100);
  ASSERT_TRUE(since.ok());
  EXPECT_EQ(since->size(), 2u);
}

TEST_P(ProbeStoreTest, TheSameSecondTwiceKeepsTheLastResult) {
  ASSERT_TRUE(p().RecordProbes({Rec("wl_1", 5432, 100, "reachable", true),
                                Rec("wl_1", 5432, 100, "unreachable", true)})
                  .ok());
  auto h = p().ProbeHistory("wl_1", 0, 10);
  ASSERT_TRUE(h.ok());
  ASSERT_EQ(h->size(), 1u);
  EXPECT_EQ(Name((*h)[0].state), "unreachable");
}

TEST_P(ProbeStoreTest, PruningDeletesOnlyOldHistory) {
  ASSERT_TRUE(p().RecordProbes({Rec("wl_1", 5432, 100, "reachable", true),
                                Rec("wl_1", 5432, 200, "unreachable", true)})
                  .ok());
  auto n = p().PruneProbes(150);
  ASSERT_TRUE(n.ok()) << n.error().message;
  EXPECT_EQ(*n, 1);
  auto h = p().ProbeHistory("wl_1", 0, 10);
  ASSERT_TRUE(h.ok());
  ASSERT_EQ(h->size(), 1u);
  EXPECT_EQ((*h)[0].at, 200);
  auto cur = p().ProbeEndpoints("wl_1");
  ASSERT_TRUE(cur.ok());
  EXPECT_EQ(cur->size(), 1u);  // the current row is not history
}

TEST_P(ProbeStoreTest, RecordsOfAnUnknownWorkloadAreDropped) {
  ASSERT_TRUE(p().RecordProbes({Rec("wl_gone", 5432, 100, "reachable", true)}).ok());
  auto all = p().ProbeEndpoints("");
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->empty());
  auto h = p().ProbeHistory("wl_gone", 0, 10);
  ASSERT_TRUE(h.ok());
  EXPECT_TRUE(h->empty());
}

TEST_P(ProbeStoreTest, ADeletedWorkloadsProbesGoWithIt) {
  ASSERT_TRUE(p().RecordProbes({Rec("wl_1", 5432, 100, "reachable", true),
                                Rec("wl_2", 5432, 100, "reachable", true)})
                  .ok());
  ASSERT_TRUE(store_->DeleteWorkload("wl_1").ok());
  auto all = p().ProbeEndpoints("");
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].workload_id, "wl_2");
  auto h = p().ProbeHistory("wl_1", 0, 10);
  ASSERT_TRUE(h.ok());
  EXPECT_TRUE(h->empty());
}

INSTANTIATE_TEST_SUITE_P(Engines, ProbeStoreTest, ::testing::Values(SqliteImpl(), PostgresImpl()),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace lattice::store
