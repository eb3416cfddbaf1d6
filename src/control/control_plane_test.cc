// ControlPlane on a real SQLite store with a manual clock, no agents: the stored-spec format
// migration, admission at create, what a create costs the store, and the workloads of a node
// whose link stays down past the grace becoming `lost`.
#include "control/control_plane.h"

#include <gtest/gtest.h>

#include "audit/audit_log.h"
#include "common/secretbox.h"
#include "control/recording_alerts.h"
#include "store/testing/counting_store.h"
#include "store/testing/temp_sqlite.h"
#include "templates/spec_storage.h"

namespace lattice::control {
namespace {

class ControlPlaneTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const store::User& u = db_.user();
    owner_ = {u.id, u.email, u.role, "", 1};
    cp_ = std::make_unique<ControlPlane>(*store_, clock_, keys_, events_, hub_, cluster_, alerts_,
                                         ControlOptions{});
  }
  void TearDown() override { cp_.reset(); }

  // A workload row as an older server wrote it: the spec in the link codec's layout.
  store::Workload LegacyRow(const std::string& id) {
    store::Workload w;
    w.id = id;
    w.owner_id = owner_.user_id;
    w.name = id.substr(3);
    w.template_name = "custom";
    w.image = "lattice/busybox:dev";
    w.spec_enc =
        Seal(R"({"image":"lattice/busybox:dev","env":[],"command":["sleep","9"],"ports":[],)"
             R"("volumes":[],"memory_mb":0,"cpus":0,"readiness":{"kind":"running","port":0,)"
             R"("path":"","username":"","password":"","database":""}})",
             keys_.secrets_key());
    w.credentials_enc = Seal("{}", keys_.secrets_key());
    w.created_at = w.updated_at = 1;
    return w;
  }

  static templates::WorkloadRequest Busybox(const std::string& name) {
    templates::WorkloadRequest req;
    req.name = name;
    req.template_name = "custom";
    req.image = "lattice/busybox:dev";
    return req;
  }

  int FormatOf(const std::string& id) {
    auto w = store_->GetWorkload(id);
    if (!w.ok()) return -1;
    auto text = Open(w->spec_enc, keys_.secrets_key());
    if (!text.ok()) return -1;
    auto stored = templates::DecodeStoredSpec(*text);
    return stored.ok() ? stored->format : -1;
  }

  store::testing::TempSqlite db_{"lattice-cp"};
  store::sqlite::SqliteStore* store_ = &db_.store();
  ManualClock clock_{1000};
  Keyring keys_ = Keyring::FromMaster(std::string(32, 'k'));
  EventBus events_;
  AgentHub hub_;
  SoloCluster cluster_{"rep_test"};
  RecordingAlerts alerts_;
  Principal owner_;
  std::unique_ptr<ControlPlane> cp_;
};

TEST_F(ControlPlaneTest, OlderStoredSpecsAreRewrittenInTheCurrentFormatOnce) {
  ASSERT_TRUE(store_->CreateWorkload(LegacyRow("wl_old"), {}).ok());
  auto created = cp_->CreateWorkload(owner_, Busybox("new"));
  ASSERT_TRUE(created.ok()) << created.error().message;
  const std::string new_id = created->w.id;
  EXPECT_EQ(FormatOf("wl_old"), 0);
  EXPECT_EQ(FormatOf(new_id), templates::kSpecFormat);  // written in the current format

  EXPECT_EQ(cp_->MigrateStoredSpecs(), 1);
  EXPECT_EQ(FormatOf("wl_old"), templates::kSpecFormat);
  EXPECT_EQ(cp_->MigrateStoredSpecs(), 0);  // idempotent
  auto text = Open(store_->GetWorkload("wl_old")->spec_enc, keys_.secrets_key());
  ASSERT_TRUE(text.ok());
  auto stored = templates::DecodeStoredSpec(*text);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->spec.command, (std::vector<std::string>{"sleep", "9"}));
}

TEST_F(ControlPlaneTest, CreateRefusesWhatTheAdmissionPolicyDoesNotAllow) {
  templates::WorkloadRequest req;
  req.name = "probe";
  req.template_name = "custom";
  req.image = "127.0.0.1:5000/scan:1";
  auto refused = cp_->CreateWorkload(owner_, req);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(refused.error().type, "not-allowed");
  ASSERT_EQ(refused.error().fields.size(), 1u);
  EXPECT_EQ(refused.error().fields[0].field, "image");
  EXPECT_TRUE(store_->ListWorkloads({})->empty());  // nothing half-written
}

TEST_F(ControlPlaneTest, AListNamesItsNodesWithOneStoreCallNotOnePerItem) {
  for (const char* id : {"node_a", "node_b"}) {
    store::JoinToken t;
    t.id = std::string("jt_") + id;
    t.token_hash = std::string("hash_") + id;
    t.created_by = owner_.user_id;
    t.created_at = 1;
    t.expires_at = 5000;
    ASSERT_TRUE(store_->CreateJoinToken(t).ok());
    store::Node n;
    n.id = id;
    n.name = std::string("name-of-") + id;
    n.address = std::string("10.0.0.") + (id[5] == 'a' ? "1" : "2");
    n.secret_hash = "s";
    ASSERT_TRUE(store_->JoinNode(t.token_hash, n, 2).ok());
  }
  for (const char* id : {"wl_1", "wl_2", "wl_3", "wl_4"}) {
    store::Workload w = LegacyRow(id);
    if (std::string(id) != "wl_4") w.node_id = std::string(id) == "wl_3" ? "node_b" : "node_a";
    ASSERT_TRUE(store_->CreateWorkload(w, {}).ok());
  }
  store::testing::CountingStore counting(*store_);
  ControlPlane cp(counting, clock_, keys_, events_, hub_, cluster_, alerts_, ControlOptions{});
  auto list = cp.ListWorkloads(owner_);
  ASSERT_TRUE(list.ok()) << list.error().message;
  ASSERT_EQ(list->size(), 4u);
  EXPECT_EQ(counting.Of("GetNode"), 0);
  EXPECT_EQ(counting.Of("GetNodes"), 1);
  std::map<std::string, std::string> named;
  for (const auto& v : *list) named[v.w.id] = v.node_name + "@" + v.node_address;
  EXPECT_EQ(named["wl_1"], "name-of-node_a@10.0.0.1");
  EXPECT_EQ(named["wl_2"], "name-of-node_a@10.0.0.1");
  EXPECT_EQ(named["wl_3"], "name-of-node_b@10.0.0.2");
  EXPECT_EQ(named["wl_4"], "@");  // not placed: no node
}

// The agent's end of a link (the network is the edge of what runs here): accepts everything.
class FakeConnection final : public AgentConnection {
 public:
  bool Send(const link::Message&) override { return true; }
  void Close() override {}
};

// An agent that goes silent has its link closed by the link's idle timeout (3 heartbeats),
// which is OnAgentDisconnected; the grace is counted from there.
TEST_F(ControlPlaneTest, TheWorkloadsOfANodeDownLongerThanTheGraceBecomeLostNotBefore) {
  auto issued = cp_->CreateJoinToken(owner_.user_id);
  ASSERT_TRUE(issued.ok()) << issued.error().message;
  link::Hello hello;
  hello.name = "alpha";
  hello.cpus = 2;
  hello.memory_mb = 4096;
  hello.join_token = issued->token;
  auto welcome = cp_->AuthenticateAgent(hello);
  ASSERT_TRUE(welcome.ok()) << welcome.error().message;
  const std::string node = welcome->node_id;
  auto conn = std::make_shared<FakeConnection>();
  hub_.Attach(node, conn);
  cp_->OnAgentConnected(node);
  auto created = cp_->CreateWorkload(owner_, Busybox("app"));
  ASSERT_TRUE(created.ok()) << created.error().message;
  const std::string id = created->w.id;
  cp_->Tick();  // leads from 1000; places it if the create's pass was owed
  ASSERT_EQ(store_->GetWorkload(id)->node_id, node);
  ASSERT_EQ(store_->GetWorkload(id)->status, WorkloadStatus::kScheduled);
  const auto events_before = store_->ListEvents(id, 50)->size();

  clock_.Advance(10);  // 1010: the link drops
  hub_.Detach(node, conn.get());
  cp_->OnAgentDisconnected(node);
  clock_.Advance(29);
  cp_->Tick();
  EXPECT_EQ(store_->GetWorkload(id)->status, WorkloadStatus::kScheduled);
  EXPECT_EQ(store_->ListEvents(id, 50)->size(), events_before);

  clock_.Advance(1);  // 30 s down
  cp_->Tick();
  auto lost = store_->GetWorkload(id);
  ASSERT_TRUE(lost.ok());
  EXPECT_EQ(lost->status, WorkloadStatus::kLost);
  EXPECT_EQ(lost->status_reason, "its node has not been heard from for 30 s");
  EXPECT_EQ(lost->node_id, node);  // it stays where it was: the node may come back
  auto timeline = store_->ListEvents(id, 50);
  ASSERT_TRUE(timeline.ok());
  ASSERT_EQ(timeline->size(), events_before + 1);
  EXPECT_EQ(timeline->back().status, WorkloadStatus::kLost);
  EXPECT_EQ(timeline->back().message, lost->status_reason);
  cp_->Tick();  // lost once, recorded once
  EXPECT_EQ(store_->ListEvents(id, 50)->size(), events_before + 1);

  // Alerts: the workload lost and its node down, once each; back, and running again.
  ASSERT_EQ(alerts_.Of(AlertKind::kWorkloadLost).size(), 1u);
  EXPECT_EQ(alerts_.Of(AlertKind::kWorkloadLost)[0].owner_id, owner_.user_id);
  EXPECT_EQ(alerts_.Of(AlertKind::kWorkloadLost)[0].workload_name, "app");
  ASSERT_EQ(alerts_.Of(AlertKind::kNodeDown).size(), 1u);
  EXPECT_EQ(alerts_.Of(AlertKind::kNodeDown)[0].node_id, node);
  hub_.Attach(node, conn);
  cp_->OnAgentConnected(node);
  EXPECT_EQ(alerts_.Of(AlertKind::kNodeUp).size(), 1u);
  const auto gen = store_->GetWorkload(id)->generation;
  ASSERT_TRUE(cp_->OnStatus(node, {id, gen, WorkloadStatus::kRunning, "", {}, ""}).ok());
  ASSERT_EQ(alerts_.Of(AlertKind::kWorkloadRecovered).size(), 1u);
  EXPECT_EQ(alerts_.Of(AlertKind::kWorkloadRecovered)[0].message,
            "running again after it was lost");
  ASSERT_TRUE(
      cp_->OnStatus(node, {id, gen, WorkloadStatus::kFailed, "exited with code 1", {}, ""}).ok());
  ASSERT_EQ(alerts_.Of(AlertKind::kWorkloadFailed).size(), 1u);
  EXPECT_EQ(alerts_.Of(AlertKind::kWorkloadFailed)[0].message, "exited with code 1");
  ASSERT_TRUE(
      cp_->OnStatus(node, {id, gen, WorkloadStatus::kFailed, "exited with code 1", {}, ""}).ok());
  EXPECT_EQ(alerts_.Of(AlertKind::kWorkloadFailed).size(), 1u) << "a repeat is no new failure";
  // A crash loop: running, failed, running… is one alert of each kind per quiet period.
  ASSERT_TRUE(cp_->OnStatus(node, {id, gen, WorkloadStatus::kRunning, "", {}, ""}).ok());
  ASSERT_TRUE(cp_->OnStatus(node, {id, gen, WorkloadStatus::kFailed, "exited again", {}, ""}).ok());
  EXPECT_EQ(alerts_.Of(AlertKind::kWorkloadRecovered).size(), 1u);
  EXPECT_EQ(alerts_.Of(AlertKind::kWorkloadFailed).size(), 1u);
  clock_.Advance(600);
  ASSERT_TRUE(cp_->OnStatus(node, {id, gen, WorkloadStatus::kRunning, "", {}, ""}).ok());
  ASSERT_TRUE(cp_->OnStatus(node, {id, gen, WorkloadStatus::kFailed, "exited again", {}, ""}).ok());
  EXPECT_EQ(alerts_.Of(AlertKind::kWorkloadRecovered).size(), 2u);
  EXPECT_EQ(alerts_.Of(AlertKind::kWorkloadFailed).size(), 2u);
}

TEST_F(ControlPlaneTest, AnOwnerReachingEightyPercentOfAQuotaIsAlertedOnce) {
  ControlOptions o;
  o.quota.max_workloads = 5;
  ControlPlane cp(*store_, clock_, keys_, events_, hub_, cluster_, alerts_, o);
  for (const char* name : {"a", "b", "c"})
    ASSERT_TRUE(cp.CreateWorkload(owner_, Busybox(name)).ok());
  cp.Tick();
  EXPECT_TRUE(alerts_.Of(AlertKind::kQuotaNearlyUsed).empty()) << "3 of 5";
  ASSERT_TRUE(cp.CreateWorkload(owner_, Busybox("d")).ok());
  cp.Tick();
  ASSERT_EQ(alerts_.Of(AlertKind::kQuotaNearlyUsed).size(), 1u);
  EXPECT_EQ(alerts_.Of(AlertKind::kQuotaNearlyUsed)[0].owner_id, owner_.user_id);
  EXPECT_NE(alerts_.Of(AlertKind::kQuotaNearlyUsed)[0].message.find("4 of 5 workloads"),
            std::string::npos);
  ASSERT_TRUE(cp.CreateWorkload(owner_, Busybox("e")).ok());
  cp.Tick();
  EXPECT_EQ(alerts_.Of(AlertKind::kQuotaNearlyUsed).size(), 1u) << "once";
}

// A replica that is not the leader: placement happens elsewhere, so a create's store calls are
// its own. Records what it broadcasts.
class FollowerCluster final : public Cluster {
 public:
  const std::string& ReplicaId() const override { return id_; }
  bool Shared() const override { return true; }
  bool IsLeader() const override { return false; }
  void Broadcast(const std::string& kind, boost::json::object) override { sent.push_back(kind); }
  void SetHandler(Handler) override {}
  std::vector<std::string> sent;

 private:
  std::string id_ = "rep_follower";
};

class CreateCostTest : public ControlPlaneTest {
 protected:
  std::unique_ptr<ControlPlane> Replica(store::Store& store, Cluster& cluster) {
    ControlOptions o;
    o.public_host = "edge.example";
    o.public_port_low = 30000;
    o.public_port_high = 30009;
    o.public_port_usable = [](int) { return true; };
    o.quota.max_workloads = 3;
    return std::make_unique<ControlPlane>(store, clock_, keys_, events_, hub_, cluster, alerts_,
                                          std::move(o));
  }
  static templates::WorkloadRequest Postgres(const std::string& name) {
    templates::WorkloadRequest req;
    req.name = name;
    req.template_name = "postgres";
    return req;
  }
  store::AuditEvent CreateRecord(const std::string& name) {
    return audit_.Event(audit::Actor::Of(owner_), "workload.create", "", "192.0.2.7", true,
                        "postgres '" + name + "'");
  }

  FollowerCluster follower_;
  audit::AuditLog audit_{*store_, clock_};
};

TEST_F(CreateCostTest, ACreateIsOneStoreCallThatWritesEverythingAndReadsNothingBack) {
  store::testing::CountingStore counting(*store_);
  auto cp = Replica(counting, follower_);
  auto created = cp->CreateWorkload(owner_, Postgres("db"), CreateRecord("db"));
  ASSERT_TRUE(created.ok()) << created.error().message;
  EXPECT_EQ(counting.Total(), 1) << "store calls: " << [&] {
    std::string all;
    for (const auto& [m, n] : counting.Counts()) all += m + "=" + std::to_string(n) + " ";
    return all;
  }();
  EXPECT_EQ(counting.Of("CreateWorkload"), 1);

  // The answer is the record as written, with its public port.
  const std::string id = created->w.id;
  EXPECT_EQ(created->w.status, WorkloadStatus::kPending);
  ASSERT_EQ(created->public_ports.size(), 1u);
  EXPECT_EQ(created->public_ports[0].port, 30000);
  EXPECT_EQ(created->public_ports[0].container_port, 5432);
  // …and everything is in the store, from that one transaction.
  auto ports = store_->ListPublicPortsOf(id);
  ASSERT_TRUE(ports.ok());
  ASSERT_EQ(ports->size(), 1u);
  EXPECT_EQ((*ports)[0].port, 30000);
  auto events = store_->ListEvents(id, 10);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].status, WorkloadStatus::kPending);
  EXPECT_EQ((*events)[0].message, "created by a@x.io");
  auto trail = store_->ListAudit(0, 10);
  ASSERT_TRUE(trail.ok());
  ASSERT_EQ(trail->size(), 1u);
  EXPECT_EQ((*trail)[0].action, "workload.create");
  EXPECT_EQ((*trail)[0].target, id);
  EXPECT_EQ((*trail)[0].client_address, "192.0.2.7");
  // Other replicas hear of it, and the leader is asked to place it.
  EXPECT_EQ(follower_.sent, (std::vector<std::string>{"workload", "schedule"}));
}

TEST_F(CreateCostTest, APortAnotherReplicaTookMeanwhileIsPlannedAgain) {
  FollowerCluster other_cluster;
  auto mine = Replica(*store_, follower_);
  auto first = mine->CreateWorkload(owner_, Postgres("one"), CreateRecord("one"));
  ASSERT_TRUE(first.ok()) << first.error().message;
  ASSERT_EQ(first->public_ports.at(0).port, 30000);

  store::testing::CountingStore counting(*store_);
  auto stale = Replica(counting, other_cluster);  // knows nothing of what `mine` allocated
  auto second = stale->CreateWorkload(owner_, Postgres("two"), CreateRecord("two"));
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_EQ(second->public_ports.at(0).port, 30001);
  EXPECT_EQ(counting.Of("CreateWorkload"), 2);  // refused once (port taken), then written
  EXPECT_EQ(counting.Of("ListPublicPorts"), 1);
  // The refused attempt left nothing: one workload named "two", one audit record for it.
  EXPECT_EQ(store_->ListWorkloads({})->size(), 2u);
  EXPECT_EQ(store_->ListAudit(0, 10)->size(), 2u);
  EXPECT_EQ(store_->ListPublicPorts()->size(), 2u);
}

TEST_F(CreateCostTest, ARefusedCreateWritesNothingAtAll) {
  auto cp = Replica(*store_, follower_);
  for (const char* name : {"a", "b"})
    ASSERT_TRUE(cp->CreateWorkload(owner_, Postgres(name), CreateRecord(name)).ok());
  auto dup = cp->CreateWorkload(owner_, Postgres("a"), CreateRecord("a"));
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code, ErrorCode::kConflict);
  EXPECT_NE(dup.error().type, store::Store::kPortTaken);
  ASSERT_TRUE(cp->CreateWorkload(owner_, Postgres("c"), CreateRecord("c")).ok());
  auto over = cp->CreateWorkload(owner_, Postgres("d"), CreateRecord("d"));  // quota: 3
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().code, ErrorCode::kPermissionDenied);
  // The handler records refusals itself; the store holds only what succeeded.
  EXPECT_EQ(store_->ListWorkloads({})->size(), 3u);
  EXPECT_EQ(store_->ListAudit(0, 10)->size(), 3u);
  auto all = store_->ListWorkloads({});
  ASSERT_TRUE(all.ok());
  for (const auto& w : *all) EXPECT_EQ(store_->ListEvents(w.id, 10)->size(), 1u);
  EXPECT_EQ(store_->ListPublicPorts()->size(), 3u);
}

TEST_F(ControlPlaneTest, ARestoreInPlaceIsANewVolumeEpochAndGenerationOneAtATime) {
  CreateExtras placed;
  placed.node_id = "node_a";  // placed by the caller; its agent is not connected
  auto created = cp_->CreateWorkload(owner_, Busybox("keep"), std::nullopt, placed);
  ASSERT_TRUE(created.ok()) << created.error().message;
  const std::string id = created->w.id;
  const std::int64_t gen = created->w.generation;
  auto spec_of = [&] {
    auto text = Open(store_->GetWorkload(id)->spec_enc, keys_.secrets_key());
    return templates::DecodeStoredSpec(*text)->spec;
  };
  EXPECT_EQ(spec_of().volume_epoch, 0);

  templates::RestoreSource src;
  src.backup_id = "bk_1";
  src.kind = BackupKind::kVolume;
  Principal stranger{"usr_other", "other@example.test", "user", "", 1};
  EXPECT_EQ(cp_->RestoreInPlace(stranger, id, src, "x").error().code, ErrorCode::kNotFound);

  auto restored = cp_->RestoreInPlace(owner_, id, src, "data replaced from bk_1");
  ASSERT_TRUE(restored.ok()) << restored.error().message;
  EXPECT_EQ(restored->w.generation, gen + 1) << "the agent acts on it at once";
  EXPECT_EQ(restored->w.desired_state, DesiredState::kRunning);
  templates::RenderedWorkload spec = spec_of();
  EXPECT_EQ(spec.volume_epoch, 1) << "new, empty volumes: the old data stays until it is ready";
  ASSERT_TRUE(spec.restore);
  EXPECT_EQ(spec.restore->backup_id, "bk_1");
  auto timeline = cp_->Timeline(owner_, id);
  ASSERT_TRUE(timeline.ok());
  EXPECT_EQ(timeline->back().message, "data replaced from bk_1");

  // While that restore has not run, a second one would share its epoch: refused.
  src.backup_id = "bk_2";
  auto busy = cp_->RestoreInPlace(owner_, id, src, "again");
  ASSERT_FALSE(busy.ok());
  EXPECT_EQ(busy.error().code, ErrorCode::kConflict);
  EXPECT_EQ(spec_of().restore->backup_id, "bk_1") << "nothing changed";

  // Once the node reports it running on the restored data, the next one is the next epoch.
  ASSERT_TRUE(store_
                  ->SetObservedStatus(id, restored->w.generation, WorkloadStatus::kRunning, "",
                                      "[]", clock_.NowSeconds())
                  .ok());
  auto again = cp_->RestoreInPlace(owner_, id, src, "again");
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(spec_of().volume_epoch, 2);
  EXPECT_EQ(spec_of().restore->backup_id, "bk_2");
}

}  // namespace
}  // namespace lattice::control
