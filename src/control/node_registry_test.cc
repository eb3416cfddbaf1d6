// NodeRegistry on a real SQLite store with a manual clock: join tokens (single use, expiry),
// agent authentication, link bookkeeping and LinkUp, heartbeats, and which nodes are lost when.
#include "control/node_registry.h"

#include <gtest/gtest.h>

#include <memory>

#include "common/random.h"
#include "control/recording_alerts.h"
#include "link/join_token.h"
#include "store/testing/temp_sqlite.h"

namespace lattice::control {
namespace {

// The agent's end of a link (the network is the edge of what runs here): accepts everything.
class FakeConnection final : public AgentConnection {
 public:
  bool Send(const link::Message&) override { return true; }
  void Close() override {}
};

// The base64url SHA-256 a CA would have: bytes 0..31.
const std::string kFingerprint = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";

class NodeRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    InitCrypto();
    NodeRegistryOptions o;
    o.heartbeat_seconds = 7;
    o.lost_grace_seconds = 30;
    o.join_token_ttl_seconds = 600;
    o.advertise_url = "https://cp.example:7443";
    o.ca_fingerprint = kFingerprint;
    o.registries = {"registry.example"};
    registry_ = std::make_unique<NodeRegistry>(*store_, clock_, events_, hub_, cluster_, alerts_,
                                               std::move(o), [this] { ++changes_; });
    sub_ = events_.Subscribe("usr_1", [this](const Event& e) {
      if (const auto* n = std::get_if<NodeChanged>(&e.what)) told_.push_back(n->node);
      return true;
    });
  }

  static link::Hello Hello(const std::string& name) {
    link::Hello h;
    h.name = name;
    h.cpus = 2;
    h.memory_mb = 4096;
    h.agent_version = "1.2.3";
    h.address = "192.0.2.10";
    return h;
  }
  // A node joined with a fresh token: its welcome (node id and secret).
  link::Welcome Join(const std::string& name) {
    auto issued = registry_->CreateJoinToken("usr_1");
    EXPECT_TRUE(issued.ok()) << issued.error().message;
    link::Hello h = Hello(name);
    h.join_token = issued->token;
    auto welcome = registry_->AuthenticateAgent(h);
    EXPECT_TRUE(welcome.ok()) << welcome.error().message;
    return welcome.ok() ? *welcome : link::Welcome{};
  }
  store::Node Node(const std::string& id) { return store_->GetNode(id).value(); }

  store::testing::TempSqlite db_{"lattice-nodes"};
  store::sqlite::SqliteStore* store_ = &db_.store();
  ManualClock clock_{1000};
  EventBus events_;
  AgentHub hub_;
  SoloCluster cluster_{"rep_here"};
  RecordingAlerts alerts_;
  std::unique_ptr<NodeRegistry> registry_;
  std::unique_ptr<EventBus::Subscription> sub_;
  std::vector<NodeView> told_;
  int changes_ = 0;
};

TEST_F(NodeRegistryTest, AJoinTokenCarriesThePinAndTheCommandAndJoinsOneNodeOnly) {
  auto issued = registry_->CreateJoinToken("usr_1");
  ASSERT_TRUE(issued.ok()) << issued.error().message;
  EXPECT_EQ(issued->expires_at, 1000 + 600);
  auto parsed = link::ParseJoinToken(issued->token);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->ca_fingerprint, kFingerprint);
  EXPECT_EQ(issued->command,
            "lattice agent --server https://cp.example:7443 --join-token " + issued->token);

  link::Hello h = Hello("alpha");
  h.join_token = issued->token;
  auto welcome = registry_->AuthenticateAgent(h);
  ASSERT_TRUE(welcome.ok()) << welcome.error().message;
  EXPECT_EQ(welcome->node_id.rfind("node_", 0), 0u) << welcome->node_id;
  EXPECT_EQ(welcome->node_secret.size(), 43u);  // 32 random bytes, base64url
  EXPECT_EQ(welcome->heartbeat_seconds, 7);
  EXPECT_TRUE(welcome->servers.empty());  // alone: nowhere else to dial
  EXPECT_EQ(welcome->registries, (std::vector<std::string>{"registry.example"}));
  const store::Node n = Node(welcome->node_id);
  EXPECT_EQ(n.name, "alpha");
  EXPECT_EQ(n.status, NodeStatus::kDown);  // until its link is claimed
  EXPECT_EQ(n.memory_mb, 4096);
  EXPECT_EQ(n.address, "192.0.2.10");
  EXPECT_NE(n.secret_hash, welcome->node_secret);  // stored hashed

  // The same token again (say, a second machine): refused, and no node is made.
  h.name = "beta";
  auto again = registry_->AuthenticateAgent(h);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::kUnauthenticated);
  EXPECT_EQ(store_->ListNodes()->size(), 1u);
}

TEST_F(NodeRegistryTest, AJoinTokenExpiresAfterItsTtl) {
  auto early = registry_->CreateJoinToken("usr_1");
  auto late = registry_->CreateJoinToken("usr_1");
  ASSERT_TRUE(early.ok() && late.ok());
  EXPECT_NE(early->token, late->token);
  clock_.Advance(599);
  link::Hello h = Hello("in-time");
  h.join_token = early->token;
  EXPECT_TRUE(registry_->AuthenticateAgent(h).ok());
  clock_.Advance(1);
  h.name = "too-late";
  h.join_token = late->token;
  auto refused = registry_->AuthenticateAgent(h);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kUnauthenticated);
  EXPECT_EQ(store_->ListNodes()->size(), 1u);
}

TEST_F(NodeRegistryTest, AJoinedNodeComesBackWithItsIdAndSecretAndNothingElse) {
  const link::Welcome first = Join("alpha");
  ASSERT_FALSE(first.node_id.empty());

  link::Hello back = Hello("alpha-renamed");
  back.node_id = first.node_id;
  back.node_secret = first.node_secret;
  back.address = "";  // unknown: loopback
  auto welcome = registry_->AuthenticateAgent(back);
  ASSERT_TRUE(welcome.ok()) << welcome.error().message;
  EXPECT_EQ(welcome->node_id, first.node_id);
  EXPECT_TRUE(welcome->node_secret.empty());  // issued once, at join
  EXPECT_EQ(Node(first.node_id).name, "alpha-renamed");
  EXPECT_EQ(Node(first.node_id).address, "127.0.0.1");

  back.node_secret = first.node_secret + "x";
  back.name = "intruder";
  auto wrong = registry_->AuthenticateAgent(back);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code, ErrorCode::kUnauthenticated);
  EXPECT_EQ(Node(first.node_id).name, "alpha-renamed");  // nothing written

  back.node_id = "node_unknown";
  back.node_secret = first.node_secret;
  auto unknown = registry_->AuthenticateAgent(back);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, ErrorCode::kUnauthenticated);

  auto bare = registry_->AuthenticateAgent(Hello("no-credentials"));
  ASSERT_FALSE(bare.ok());
  EXPECT_EQ(bare.error().code, ErrorCode::kUnauthenticated);

  link::Hello old = Hello("old");
  old.protocol = link::kProtocolVersion - 1;
  old.node_id = first.node_id;
  old.node_secret = first.node_secret;
  auto refused = registry_->AuthenticateAgent(old);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(refused.error().type, "incompatible-protocol");
  EXPECT_EQ(store_->ListNodes()->size(), 1u);
}

TEST_F(NodeRegistryTest, ALinkIsUpWhileAttachedHereOrClaimedByAnotherLiveReplica) {
  const std::string id = Join("alpha").node_id;
  ASSERT_FALSE(id.empty());
  EXPECT_FALSE(registry_->LinkUp(Node(id)));

  // Claimed here, but the hub holds no link for it (it dropped meanwhile): not up.
  registry_->OnAgentConnected(id);
  EXPECT_EQ(Node(id).status, NodeStatus::kReady);
  EXPECT_EQ(Node(id).link_replica, "rep_here");
  EXPECT_FALSE(registry_->LinkUp(Node(id)));
  auto conn = std::make_shared<FakeConnection>();
  hub_.Attach(id, conn);
  EXPECT_TRUE(registry_->LinkUp(Node(id)));
  auto listed = registry_->ListNodes();
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_TRUE((*listed)[0].connected);
  hub_.Detach(id, conn.get());
  EXPECT_FALSE(registry_->LinkUp(Node(id)));

  // Linked to another replica: up while that replica holds it ready.
  ASSERT_TRUE(store_->ClaimNodeLink(id, "rep_there", clock_.NowSeconds()).ok());
  EXPECT_TRUE(registry_->LinkUp(Node(id)));
  // The link drops here too late: it is not this replica's to release, nothing changes.
  registry_->OnAgentDisconnected(id);
  EXPECT_EQ(Node(id).link_replica, "rep_there");
  EXPECT_TRUE(told_.empty());
  ASSERT_TRUE(store_->ReleaseNodeLink(id, "rep_there", clock_.NowSeconds()).value());
  EXPECT_FALSE(registry_->LinkUp(Node(id)));
}

TEST_F(NodeRegistryTest, HeartbeatsShowInTheListWithoutTouchingTheStore) {
  const std::string id = Join("alpha").node_id;
  ASSERT_FALSE(id.empty());
  registry_->OnAgentConnected(id);  // at 1000
  clock_.Advance(20);
  registry_->OnHeartbeat(id);
  EXPECT_EQ(Node(id).last_heartbeat, 1000);  // the store keeps the link's start
  auto listed = registry_->ListNodes();
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].node.last_heartbeat, 1020);
}

TEST_F(NodeRegistryTest, ANodeIsLostOnlyOnceItsLinkHasBeenDownForTheWholeGrace) {
  const std::string id = Join("alpha").node_id;
  ASSERT_FALSE(id.empty());
  auto conn = std::make_shared<FakeConnection>();
  hub_.Attach(id, conn);
  registry_->OnAgentConnected(id);
  registry_->Tick(clock_.NowSeconds(), /*leading=*/true);  // leads from 1000
  clock_.Advance(100);
  EXPECT_TRUE(registry_->LostNodes(clock_.NowSeconds()).empty());  // linked: never lost

  // The link drops at 1110: the node is down (told, and the placer cued), not yet lost.
  clock_.Advance(10);
  hub_.Detach(id, conn.get());
  registry_->OnAgentDisconnected(id);
  EXPECT_EQ(Node(id).status, NodeStatus::kDown);
  EXPECT_EQ(Node(id).down_since, 1110);
  ASSERT_EQ(told_.size(), 1u);
  EXPECT_EQ(told_[0].node.id, id);
  EXPECT_FALSE(told_[0].connected);
  EXPECT_EQ(changes_, 1);
  EXPECT_TRUE(registry_->LostNodes(1110 + 29).empty());
  EXPECT_EQ(registry_->LostNodes(1110 + 30), (std::vector<std::string>{id}));

  // A replica that has just begun to lead gives the node the whole grace again.
  registry_->Tick(2000, /*leading=*/false);
  registry_->Tick(2005, /*leading=*/true);
  EXPECT_TRUE(registry_->LostNodes(2005 + 29).empty());
  EXPECT_EQ(registry_->LostNodes(2005 + 30), (std::vector<std::string>{id}));
}

TEST_F(NodeRegistryTest, ARestartedLoneServerCountsEveryNodeDown) {
  const std::string id = Join("alpha").node_id;
  ASSERT_FALSE(id.empty());
  registry_->OnAgentConnected(id);
  ASSERT_EQ(Node(id).status, NodeStatus::kReady);
  registry_->RecoverAfterRestart();
  EXPECT_EQ(Node(id).status, NodeStatus::kDown);
  auto replicas = store_->ListReplicas(0);
  ASSERT_TRUE(replicas.ok());
  ASSERT_EQ(replicas->size(), 1u);
  EXPECT_EQ((*replicas)[0].id, "rep_here");
  EXPECT_EQ((*replicas)[0].url, "https://cp.example:7443");
}

// One of several replicas sharing the store (it leads, and broadcasts to nobody).
class SharedCluster final : public Cluster {
 public:
  const std::string& ReplicaId() const override { return id_; }
  bool Shared() const override { return true; }
  bool IsLeader() const override { return true; }
  void Broadcast(const std::string& kind, boost::json::object body) override {
    sent.push_back(kind + ":" + std::string(body["id"].as_string()));
  }
  void SetHandler(Handler) override {}
  std::vector<std::string> sent;

 private:
  std::string id_ = "rep_here";
};

TEST_F(NodeRegistryTest, WithReplicasAgentsLearnEveryLiveOneAndASilentOnesNodesGoDown) {
  SharedCluster shared;
  NodeRegistryOptions o;
  o.advertise_url = "https://here:7443";
  o.replica_timeout_seconds = 10;
  NodeRegistry here(*store_, clock_, events_, hub_, shared, alerts_, std::move(o));
  ASSERT_TRUE(store_->TouchReplica({"rep_gone", "https://gone:7443", 985}).ok());
  ASSERT_TRUE(store_->TouchReplica({"rep_there", "https://there:7443", 995}).ok());
  auto issued = here.CreateJoinToken("usr_1");
  ASSERT_TRUE(issued.ok());
  link::Hello h = Hello("alpha");
  h.join_token = issued->token;
  auto welcome = here.AuthenticateAgent(h);
  ASSERT_TRUE(welcome.ok()) << welcome.error().message;
  // Its own first, then the live others; rep_gone was last seen more than 10 s ago.
  EXPECT_EQ(welcome->servers,
            (std::vector<std::string>{"https://here:7443", "https://there:7443"}));

  // The node's link is held by rep_there, which then falls silent.
  const std::string id = welcome->node_id;
  ASSERT_TRUE(store_->ClaimNodeLink(id, "rep_there", 996).ok());
  here.Tick(1000, /*leading=*/true);
  EXPECT_TRUE(here.LinkUp(Node(id)));
  EXPECT_TRUE(shared.sent.empty());
  here.Tick(1006, /*leading=*/true);  // rep_there last seen at 995: gone
  EXPECT_EQ(Node(id).status, NodeStatus::kDown);
  EXPECT_EQ(Node(id).down_since, 995);
  EXPECT_FALSE(here.LinkUp(Node(id)));
  EXPECT_EQ(shared.sent, (std::vector<std::string>{"node:" + id}));
  ASSERT_EQ(told_.size(), 1u);
  EXPECT_EQ(told_[0].node.id, id);
}

TEST_F(NodeRegistryTest, TheOperatorsAdvertiseUrlWinsOverTheListeningAddress) {
  registry_->SetDefaultAdvertiseUrl("https://127.0.0.1:40123");
  EXPECT_EQ(registry_->AdvertiseUrl(), "https://cp.example:7443");

  NodeRegistry unset(*store_, clock_, events_, hub_, cluster_, alerts_, {});
  EXPECT_EQ(unset.AdvertiseUrl(), "");
  unset.SetDefaultAdvertiseUrl("https://127.0.0.1:40123");
  EXPECT_EQ(unset.AdvertiseUrl(), "https://127.0.0.1:40123");
  auto issued = unset.CreateJoinToken("usr_1");
  ASSERT_TRUE(issued.ok());
  EXPECT_EQ(issued->command.rfind("lattice agent --server https://127.0.0.1:40123 ", 0), 0u);
}

}  // namespace
}  // namespace lattice::control
