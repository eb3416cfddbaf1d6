// The event stream's messages: each typed event's type and JSON, and no secret in any.
#include "api/workload_json.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace lattice::api {
namespace {

namespace json = boost::json;

control::WorkloadView View() {
  control::WorkloadView v;
  v.w.id = "wl_1";
  v.w.owner_id = "usr_1";
  v.w.name = "db";
  v.w.template_name = "postgres";
  v.w.status = WorkloadStatus::kStarting;
  v.w.desired_state = DesiredState::kRunning;
  v.credentials = {{"password", "s3cret-value"}};
  return v;
}

TEST(EventJson, AWorkloadChangeIsItsJsonWithoutCredentials) {
  const EventMessage m = EventJson({"usr_1", control::WorkloadChanged{View()}});
  EXPECT_EQ(m.type, "workload");
  const json::object o = json::parse(m.data).as_object();
  EXPECT_EQ(o.at("id").as_string(), "wl_1");
  EXPECT_EQ(o.at("status").as_string(), "starting");
  EXPECT_EQ(o.at("desired_state").as_string(), "running");
  EXPECT_FALSE(o.contains("credentials"));
  EXPECT_EQ(m.data.find("s3cret-value"), std::string::npos);
  // The API's own answer does carry them (to the owner).
  EXPECT_TRUE(WorkloadJson(View()).as_object().contains("credentials"));
}

TEST(EventJson, DeletionsAndNodeChangesHaveTheirOwnTypes) {
  const EventMessage d = EventJson({"usr_1", control::WorkloadDeleted{"wl_9"}});
  EXPECT_EQ(d.type, "workload.deleted");
  EXPECT_EQ(d.data, R"({"id":"wl_9"})");
  control::NodeView n;
  n.node.id = "node_1";
  n.node.name = "n1";
  n.node.status = NodeStatus::kReady;
  n.connected = true;
  const EventMessage m = EventJson({"", control::NodeChanged{n}});
  EXPECT_EQ(m.type, "node");
  const json::object o = json::parse(m.data).as_object();
  EXPECT_EQ(o.at("id").as_string(), "node_1");
  EXPECT_EQ(o.at("status").as_string(), "ready");
}

}  // namespace
}  // namespace lattice::api
