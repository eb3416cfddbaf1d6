// ClusterRelay with a real AgentHub, a recording Cluster and a recording agent link: where
// stream.open and stream.fail go with and without replicas, what arrives from other replicas,
// and that malformed messages from them are dropped.
#include "server/cluster_relay.h"

#include <gtest/gtest.h>

#include <memory>
#include <utility>
#include <vector>

namespace lattice::server {
namespace {

// Other replicas, as seen from this one: records what is broadcast.
class RecordingCluster final : public control::Cluster {
 public:
  explicit RecordingCluster(bool shared) : shared_(shared) {}
  const std::string& ReplicaId() const override { return id_; }
  bool Shared() const override { return shared_; }
  bool IsLeader() const override { return true; }
  void Broadcast(const std::string& kind, boost::json::object body) override {
    sent.emplace_back(kind, std::move(body));
  }
  void SetHandler(Handler) override {}

  std::vector<std::pair<std::string, boost::json::object>> sent;

 private:
  const std::string id_ = "rep_test";
  const bool shared_;
};

// A linked agent: records what the hub sends it.
class RecordingLink final : public control::AgentConnection {
 public:
  bool Send(const link::Message& m) override {
    sent.push_back(m);
    return true;
  }
  void Close() override {}
  std::vector<link::Message> sent;
};

link::StreamOpen AnOpen() {
  link::StreamOpen m;
  m.stream_id = "st_1";
  m.secret = "s3cret";
  m.workload_id = "wl_1";
  m.container_port = 80;
  return m;
}

class ClusterRelayTest : public ::testing::Test {
 protected:
  void Build(bool shared) {
    cluster_ = std::make_unique<RecordingCluster>(shared);
    ClusterRelay::Targets t;
    t.edge_stream_fail = [this](const std::string& node, const link::StreamFail& f) {
      fails_.emplace_back(node, f);
    };
    t.advertise_url = [] { return std::string("https://replica-a:8443"); };
    t.others = [this](const std::string& kind, const boost::json::object& body) {
      others_.emplace_back(kind, body);
    };
    relay_ = std::make_unique<ClusterRelay>(*cluster_, hub_, std::move(t));
    hub_.Attach("node_here", link_);
  }

  const link::StreamOpen* SentOpen(std::size_t i) const {
    return i < link_->sent.size() ? std::get_if<link::StreamOpen>(&link_->sent[i]) : nullptr;
  }

  control::AgentHub hub_;
  std::shared_ptr<RecordingLink> link_ = std::make_shared<RecordingLink>();
  std::unique_ptr<RecordingCluster> cluster_;
  std::unique_ptr<ClusterRelay> relay_;
  std::vector<std::pair<std::string, link::StreamFail>> fails_;
  std::vector<std::pair<std::string, boost::json::object>> others_;
};

TEST_F(ClusterRelayTest, AloneOpenGoesToTheLocalAgentUnchanged) {
  Build(/*shared=*/false);
  EXPECT_TRUE(relay_->Open("node_here", AnOpen()));
  ASSERT_NE(SentOpen(0), nullptr);
  EXPECT_EQ(SentOpen(0)->stream_id, "st_1");
  EXPECT_EQ(SentOpen(0)->edge_url, "");
  EXPECT_FALSE(relay_->Open("node_elsewhere", AnOpen()));  // nobody else could hold it
  EXPECT_TRUE(cluster_->sent.empty());
}

TEST_F(ClusterRelayTest, WithReplicasOpenForALocalNodeGoesToItsAgentNamingThisReplica) {
  Build(/*shared=*/true);
  EXPECT_TRUE(relay_->Open("node_here", AnOpen()));
  ASSERT_NE(SentOpen(0), nullptr);
  EXPECT_EQ(SentOpen(0)->edge_url, "https://replica-a:8443");
  EXPECT_TRUE(cluster_->sent.empty());
}

TEST_F(ClusterRelayTest, WithReplicasOpenForANodeLinkedElsewhereIsBroadcast) {
  Build(/*shared=*/true);
  EXPECT_TRUE(relay_->Open("node_elsewhere", AnOpen()));
  EXPECT_TRUE(link_->sent.empty());
  ASSERT_EQ(cluster_->sent.size(), 1u);
  const auto& [kind, body] = cluster_->sent[0];
  EXPECT_EQ(kind, "stream.open");
  EXPECT_EQ(body.at("node_id").as_string(), "node_elsewhere");
  auto m = link::Decode(std::string(body.at("message").as_string()));
  ASSERT_TRUE(m.ok());
  const auto* open = std::get_if<link::StreamOpen>(&*m);
  ASSERT_NE(open, nullptr);
  EXPECT_EQ(open->stream_id, "st_1");
  EXPECT_EQ(open->secret, "s3cret");
  EXPECT_EQ(open->edge_url, "https://replica-a:8443");
}

TEST_F(ClusterRelayTest, AnAgentsStreamFailReachesTheEdgeAndIsBroadcast) {
  Build(/*shared=*/true);
  relay_->OnStreamFail("node_here", link::StreamFail{"st_1", "connection refused"});
  ASSERT_EQ(fails_.size(), 1u);
  EXPECT_EQ(fails_[0].first, "node_here");
  EXPECT_EQ(fails_[0].second.stream_id, "st_1");
  EXPECT_EQ(fails_[0].second.reason, "connection refused");
  ASSERT_EQ(cluster_->sent.size(), 1u);
  EXPECT_EQ(cluster_->sent[0].first, "stream.fail");
  EXPECT_EQ(cluster_->sent[0].second, (boost::json::object{{"node_id", "node_here"},
                                                           {"stream_id", "st_1"},
                                                           {"reason", "connection refused"}}));
}

TEST_F(ClusterRelayTest, AStreamOpenFromAReplicaReachesTheLocalAgent) {
  Build(/*shared=*/true);
  link::StreamOpen routed = AnOpen();
  routed.edge_url = "https://replica-b:8443";
  relay_->OnClusterMessage("stream.open",
                           {{"node_id", "node_here"}, {"message", link::Encode(routed)}});
  ASSERT_NE(SentOpen(0), nullptr);
  EXPECT_EQ(SentOpen(0)->stream_id, "st_1");
  EXPECT_EQ(SentOpen(0)->edge_url, "https://replica-b:8443");  // the replica that waits
  // For a node linked to yet another replica: not ours, dropped.
  relay_->OnClusterMessage("stream.open",
                           {{"node_id", "node_elsewhere"}, {"message", link::Encode(routed)}});
  EXPECT_EQ(link_->sent.size(), 1u);
  EXPECT_TRUE(cluster_->sent.empty());  // never echoed back
}

TEST_F(ClusterRelayTest, AStreamFailFromAReplicaReachesTheEdge) {
  Build(/*shared=*/true);
  relay_->OnClusterMessage("stream.fail",
                           {{"node_id", "node_x"}, {"stream_id", "st_9"}, {"reason", "refused"}});
  ASSERT_EQ(fails_.size(), 1u);
  EXPECT_EQ(fails_[0].first, "node_x");
  EXPECT_EQ(fails_[0].second.stream_id, "st_9");
  EXPECT_EQ(fails_[0].second.reason, "refused");
  EXPECT_TRUE(cluster_->sent.empty());
}

TEST_F(ClusterRelayTest, MalformedMessagesFromReplicasAreDropped) {
  Build(/*shared=*/true);
  const std::string heartbeat = link::Encode(link::Heartbeat{});
  const std::vector<boost::json::object> opens = {
      {},
      {{"node_id", 7}, {"message", link::Encode(AnOpen())}},
      {{"node_id", "node_here"}},
      {{"node_id", "node_here"}, {"message", 42}},
      {{"node_id", "node_here"}, {"message", "{not json"}},
      {{"node_id", "node_here"}, {"message", heartbeat}},  // a message, but not a stream.open
  };
  for (const auto& body : opens) relay_->OnClusterMessage("stream.open", body);
  const std::vector<boost::json::object> fails = {
      {},
      {{"node_id", "node_here"}},
      {{"node_id", "node_here"}, {"stream_id", boost::json::array{}}},
      {{"stream_id", "st_1"}},
  };
  for (const auto& body : fails) relay_->OnClusterMessage("stream.fail", body);
  EXPECT_TRUE(link_->sent.empty());
  EXPECT_TRUE(fails_.empty());
  EXPECT_TRUE(others_.empty());
  EXPECT_TRUE(cluster_->sent.empty());
}

TEST_F(ClusterRelayTest, OtherKindsPassThroughUnchanged) {
  Build(/*shared=*/true);
  relay_->OnClusterMessage("session.revoked", {{"user_id", "u_1"}, {"session_id", "s_1"}});
  relay_->OnClusterMessage("resync", {});
  ASSERT_EQ(others_.size(), 2u);
  EXPECT_EQ(others_[0].first, "session.revoked");
  EXPECT_EQ(others_[0].second.at("user_id").as_string(), "u_1");
  EXPECT_EQ(others_[1].first, "resync");
  EXPECT_TRUE(link_->sent.empty());
  EXPECT_TRUE(fails_.empty());
}

}  // namespace
}  // namespace lattice::server
