// PgCluster against a real, throw-away PostgreSQL: messages reach the other replicas (not the
// sender), exactly one replica leads and leadership moves when the leader goes away, and a
// database restart costs nothing but a "resync".
#include "cluster/pg_cluster.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "store/postgres/pg_test_cluster.h"

namespace lattice::cluster {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

struct Inbox {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::pair<std::string, json::object>> got;

  control::Cluster::Handler handler() {
    return [this](const std::string& kind, const json::object& body) {
      std::lock_guard lock(mu);
      got.emplace_back(kind, body);
      cv.notify_all();
    };
  }
  // Waits for a message of `kind`; returns its body, or nullopt after `timeout`.
  std::optional<json::object> Wait(const std::string& kind, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu);
    std::optional<json::object> out;
    cv.wait_for(lock, timeout, [&] {
      for (const auto& [k, b] : got)
        if (k == kind) out = b;
      return out.has_value();
    });
    return out;
  }
  std::size_t Count(const std::string& kind) {
    std::lock_guard lock(mu);
    std::size_t n = 0;
    for (const auto& [k, b] : got) n += k == kind;
    return n;
  }
};

template <typename F>
bool Eventually(F f, std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (f()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return f();
}

class PgClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto pg = store::postgres::TestCluster::Shared();
    if (!pg.ok()) GTEST_FAIL() << pg.error().message;
    pg_ = *pg;
    auto url = pg_->CreateDatabase();
    ASSERT_TRUE(url.ok()) << url.error().message;
    url_ = *url;
  }
  std::unique_ptr<PgCluster> Replica(const std::string& id, Inbox& inbox) {
    auto c = PgCluster::Open(url_, id);
    EXPECT_TRUE(c.ok()) << c.error().message;
    if (!c.ok()) return nullptr;
    (*c)->SetHandler(inbox.handler());
    (*c)->Start();
    return std::move(c).value();
  }

  store::postgres::TestCluster* pg_ = nullptr;
  std::string url_;
};

TEST_F(PgClusterTest, BroadcastsReachTheOtherReplicasOnly) {
  Inbox ia, ib, ic;
  auto a = Replica("rep_a", ia);
  auto b = Replica("rep_b", ib);
  auto c = Replica("rep_c", ic);
  ASSERT_TRUE(a && b && c);
  // LISTEN is issued on each replica's own thread: wait until a probe gets through.
  ASSERT_TRUE(Eventually(
      [&] {
        a->Broadcast("probe", {});
        return ib.Wait("probe", 100ms) && ic.Wait("probe", 100ms);
      },
      10s));
  const auto sent = std::chrono::steady_clock::now();
  a->Broadcast("workload", {{"id", "wl_1"}});
  auto got_b = ib.Wait("workload", 2s);
  const auto latency = std::chrono::steady_clock::now() - sent;
  ASSERT_TRUE(got_b.has_value());
  EXPECT_EQ(got_b->at("id").as_string(), "wl_1");
  EXPECT_LT(latency, 1s);
  EXPECT_TRUE(ic.Wait("workload", 2s).has_value());
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(ia.Count("workload"), 0u) << "the sender must not hear itself";

  // In order, from one sender.
  for (int i = 0; i < 50; ++i) b->Broadcast("seq", {{"i", i}});
  ASSERT_TRUE(Eventually([&] { return ia.Count("seq") == 50; }, 5s));
  std::lock_guard lock(ia.mu);
  int expect = 0;
  for (const auto& [k, body] : ia.got)
    if (k == "seq") {
      EXPECT_EQ(body.at("i").as_int64(), expect++);
    }
}

TEST_F(PgClusterTest, OversizedMessagesAreDroppedNotSent) {
  Inbox ia, ib;
  auto a = Replica("rep_a", ia);
  auto b = Replica("rep_b", ib);
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(Eventually(
      [&] {
        a->Broadcast("probe", {});
        return ib.Wait("probe", 100ms).has_value();
      },
      10s));
  a->Broadcast("big", {{"data", std::string(9000, 'x')}});
  a->Broadcast("after", {});
  EXPECT_TRUE(ib.Wait("after", 2s).has_value());
  EXPECT_EQ(ib.Count("big"), 0u);
}

TEST_F(PgClusterTest, ExactlyOneLeaderAndASurvivorTakesOver) {
  Inbox ia, ib;
  auto a = Replica("rep_a", ia);
  auto b = Replica("rep_b", ib);
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(Eventually([&] { return a->IsLeader() || b->IsLeader(); }, 5s));
  for (int i = 0; i < 20; ++i) {  // never both, over 2 s of campaigning
    EXPECT_FALSE(a->IsLeader() && b->IsLeader());
    std::this_thread::sleep_for(100ms);
  }
  auto& leader = a->IsLeader() ? a : b;
  auto& follower = a->IsLeader() ? b : a;
  leader->Stop();  // its connection closes: PostgreSQL releases the lock
  leader.reset();
  EXPECT_TRUE(Eventually([&] { return follower->IsLeader(); }, 5s));
}

TEST_F(PgClusterTest, ADatabaseRestartIsSurvivedWithAResync) {
  Inbox ia, ib;
  auto a = Replica("rep_a", ia);
  auto b = Replica("rep_b", ib);
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(Eventually([&] { return a->IsLeader() || b->IsLeader(); }, 5s));
  ASSERT_TRUE(Eventually(  // both are listening
      [&] {
        a->Broadcast("probe", {});
        b->Broadcast("probe", {});
        return ib.Wait("probe", 100ms) && ia.Wait("probe", 100ms);
      },
      10s));
  ASSERT_TRUE(pg_->Stop().ok());
  EXPECT_TRUE(Eventually([&] { return !a->IsLeader() && !b->IsLeader(); }, 8s))
      << "nobody may lead without the database";
  ASSERT_TRUE(pg_->Restart().ok());
  EXPECT_TRUE(ib.Wait("resync", 15s).has_value());
  ASSERT_TRUE(Eventually([&] { return a->IsLeader() || b->IsLeader(); }, 10s));
  ASSERT_TRUE(Eventually(
      [&] {
        a->Broadcast("again", {});
        return ib.Wait("again", 200ms).has_value();
      },
      10s));
}

}  // namespace
}  // namespace lattice::cluster
