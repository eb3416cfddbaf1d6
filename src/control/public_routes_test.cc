// PublicRoutes on a real SQLite store: planning, holding, learning from the store, the routes
// it tells the edge.
#include "control/public_routes.h"

#include <gtest/gtest.h>

#include <set>

#include "store/testing/temp_sqlite.h"

namespace lattice::control {
namespace {

class PublicRoutesTest : public ::testing::Test {
 protected:
  // A workload exposing `ports` (container port → idle timeout in seconds, 0: none).
  store::Workload Workload(const std::string& id, std::vector<std::pair<int, int>> ports) {
    store::Workload w;
    w.id = id;
    w.owner_id = "usr_1";
    w.name = id;
    w.template_name = "custom";
    w.image = "lattice/busybox:dev";
    std::string json = "[";
    for (const auto& [port, idle] : ports) {
      if (json.size() > 1) json += ",";
      json += R"({"name":"p","container_port":)" + std::to_string(port) +
              R"(,"protocol":"tcp","scheme":"tcp")" +
              (idle ? R"(,"idle_timeout_s":)" + std::to_string(idle) : "") + "}";
    }
    w.ports_json = json + "]";
    w.created_at = w.updated_at = 1;
    return w;
  }

  store::testing::TempSqlite db_{"lattice-routes"};
  store::sqlite::SqliteStore* store_ = &db_.store();
};

TEST_F(PublicRoutesTest, PlansTheLowestFreeUsablePortsAndHoldsOnlyWhatItIsTold) {
  std::set<int> refused = {40001};  // e.g. bound by another process
  PublicRoutes routes(*store_, {40000, 40005, [&](int p) { return !refused.count(p); }});
  routes.Hold("wl_a", {{40000, "wl_a", 80}});
  auto plan = routes.Plan(Workload("wl_b", {{5432, 0}, {8080, 0}}));
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  ASSERT_EQ(plan->size(), 2u);
  EXPECT_EQ((*plan)[0].port, 40002);  // 40000 held, 40001 not usable
  EXPECT_EQ((*plan)[1].port, 40003);
  EXPECT_TRUE(routes.Of("wl_b").empty());  // planning holds nothing

  PublicRoutes tiny(*store_, {40000, 40000, nullptr});
  tiny.Hold("wl_a", {{40000, "wl_a", 80}});
  auto none = tiny.Plan(Workload("wl_b", {{5432, 0}}));
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, ErrorCode::kUnavailable);

  PublicRoutes off(*store_, {});
  EXPECT_FALSE(off.enabled());
  EXPECT_TRUE(off.Plan(Workload("wl_c", {{80, 0}}))->empty());
  EXPECT_FALSE(off.Missing(Workload("wl_c", {{80, 0}})));
}

TEST_F(PublicRoutesTest, LearnsWhatAnotherReplicaAllocatedFromTheStore) {
  PublicRoutes here(*store_, {41000, 41009, nullptr});
  PublicRoutes there(*store_, {41000, 41009, nullptr});
  store::Workload w = Workload("wl_x", {{5432, 0}});
  ASSERT_TRUE(store_->CreateWorkload(w, {}).ok());
  ASSERT_TRUE(there.Allocate(w).ok());
  ASSERT_EQ(there.Of("wl_x").size(), 1u);
  EXPECT_TRUE(here.Missing(w));
  ASSERT_TRUE(here.Learn("wl_x").ok());
  EXPECT_FALSE(here.Missing(w));
  EXPECT_EQ(here.Of("wl_x")[0].port, there.Of("wl_x")[0].port);

  PublicRoutes fresh(*store_, {41000, 41009, nullptr});
  ASSERT_TRUE(fresh.LoadAll().ok());
  EXPECT_EQ(fresh.Holders(), (std::vector<std::string>{"wl_x"}));
  // A plan made from the loaded table never offers the held port again.
  auto plan = fresh.Plan(Workload("wl_y", {{80, 0}}));
  ASSERT_TRUE(plan.ok());
  EXPECT_NE((*plan)[0].port, there.Of("wl_x")[0].port);
}

TEST_F(PublicRoutesTest, TellsTheEdgeEachRouteWithItsNodeStateAndIdleTimeout) {
  PublicRoutes routes(*store_, {42000, 42009, nullptr});
  std::vector<std::pair<std::string, std::vector<PublicRoute>>> told;
  routes.SetObserver([&](const std::string& id, std::vector<PublicRoute> r) {
    told.emplace_back(id, std::move(r));
  });
  store::Workload w = Workload("wl_r", {{5432, 30}, {9000, 0}});
  w.node_id = "node_1";
  routes.Hold("wl_r", {{42000, "wl_r", 5432}, {42001, "wl_r", 9000}});
  routes.Publish(w);
  ASSERT_EQ(told.size(), 1u);
  ASSERT_EQ(told[0].second.size(), 2u);
  const PublicRoute& pg = told[0].second[0];
  EXPECT_EQ(pg.public_port, 42000);
  EXPECT_EQ(pg.container_port, 5432);
  EXPECT_EQ(pg.node_id, "node_1");
  EXPECT_TRUE(pg.open);
  EXPECT_EQ(pg.idle_timeout, std::chrono::seconds(30));
  EXPECT_EQ(told[0].second[1].idle_timeout, std::chrono::milliseconds(0));

  w.desired_state = DesiredState::kStopped;  // stopped: the ports stay, closed
  routes.Publish(w);
  ASSERT_EQ(told.size(), 2u);
  ASSERT_EQ(told[1].second.size(), 2u);
  EXPECT_FALSE(told[1].second[0].open);

  routes.Forget("wl_r");  // purged: no routes, no ports
  ASSERT_EQ(told.size(), 3u);
  EXPECT_TRUE(told[2].second.empty());
  EXPECT_TRUE(routes.Of("wl_r").empty());
}

}  // namespace
}  // namespace lattice::control
