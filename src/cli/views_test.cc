#include "cli/views.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "cli/table.h"

namespace lattice::cli {
namespace {

namespace json = boost::json;

constexpr std::int64_t kNow = 1'800'000'000;  // 2027-01-15T08:00:00Z

TEST(cli_table, AlignsColumnsWithoutTrailingSpaces) {
  Table t({"NAME", "STATUS", "NOTE"});
  t.AddRow({"db", "running", ""});
  t.AddRow({"files-long", "stopped", "x"});
  EXPECT_EQ(t.Render(),
            "NAME        STATUS   NOTE\n"
            "db          running\n"
            "files-long  stopped  x\n");
}

TEST(cli_table, CountsCharactersNotBytes) {
  Table t({"A", "B"});
  t.AddRow({"é—", "x"});
  t.AddRow({"abc", "y"});
  EXPECT_EQ(t.Render(), "A    B\né—   x\nabc  y\n");
  EXPECT_EQ(DisplayWidth("é—"), 2u);
}

TEST(cli_table, HeaderlessTableIsAnAlignedList) {
  Table t;
  t.AddRow({"username", "u1"});
  t.AddRow({"connection_string", "postgres://…"});
  EXPECT_EQ(t.Render(), "username           u1\nconnection_string  postgres://…\n");
}

TEST(cli_time, ParsesRfc3339AndFormatsAges) {
  EXPECT_EQ(ParseTimestamp("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(ParseTimestamp("2027-01-15T08:00:00Z"), kNow);
  EXPECT_EQ(ParseTimestamp("2027-01-15 08:00:00"), std::nullopt);
  EXPECT_EQ(ParseTimestamp("garbage"), std::nullopt);
  EXPECT_EQ(FormatAge(-5), "0s");
  EXPECT_EQ(FormatAge(59), "59s");
  EXPECT_EQ(FormatAge(60), "1m");
  EXPECT_EQ(FormatAge(7200), "2h");
  EXPECT_EQ(FormatAge(3 * 86400 + 5), "3d");
  EXPECT_EQ(Ago("2027-01-15T07:55:00Z", kNow), "5m ago");
  EXPECT_EQ(Ago("", kNow), "-");
}

json::object Postgres() {
  return json::parse(R"({
    "id": "wl_1", "name": "db", "template": "postgres", "image": "postgres:15",
    "status": "running", "status_reason": "", "desired_state": "running", "generation": 1,
    "node_id": "nd_1", "node_name": "laptop",
    "endpoints": [{"name": "postgres", "container_port": 5432, "protocol": "tcp",
                   "host": "127.0.0.1", "port": 32768, "url": "postgres://127.0.0.1:32768"}],
    "credentials": {"database": "dbx", "password": "pw", "username": "ux",
                    "connection_string": "postgres://ux:pw@127.0.0.1:32768/dbx"},
    "resources": {"memory_mb": 512, "cpus": 0.5},
    "created_at": "2027-01-15T07:58:00Z", "updated_at": "2027-01-15T07:59:30Z"})")
      .as_object();
}

TEST(cli_views, WorkloadsTableShowsWhatPsNeeds) {
  json::object pending = Postgres();
  pending["name"] = "web";
  pending["template"] = "custom";
  pending["status"] = "scheduled";
  pending["node_name"] = nullptr;
  pending["endpoints"] = json::parse(
      R"([{"name":"port-80","container_port":80,"protocol":"tcp","host":null,"port":null,"url":null}])");
  EXPECT_EQ(WorkloadsTable({Postgres(), pending}, kNow),
            "NAME  TEMPLATE  STATUS     NODE    ENDPOINTS                   AGE\n"
            "db    postgres  running    laptop  postgres://127.0.0.1:32768  2m\n"
            "web   custom    scheduled  -       -                           2m\n");
}

TEST(cli_views, ConnectionDetailsListEndpointsThenCredentials) {
  EXPECT_EQ(ConnectionDetails(Postgres()),
            "Endpoints:\n"
            "  postgres  postgres://127.0.0.1:32768\n"
            "Credentials:\n"
            "  database           dbx\n"
            "  password           pw\n"
            "  username           ux\n"
            "  connection_string  postgres://ux:pw@127.0.0.1:32768/dbx\n");
  json::object custom = Postgres();
  custom["credentials"] = json::object{};
  custom["endpoints"] = json::parse(R"([{"name":"port-80","url":null}])");
  EXPECT_EQ(ConnectionDetails(custom), "Endpoints:\n  port-80  (not published yet)\n");
  custom["endpoints"] =
      json::parse(R"([{"name":"port-80","url":"tcp://edge.example:20001","node_port":32771}])");
  EXPECT_EQ(ConnectionDetails(custom),
            "Endpoints:\n  port-80  tcp://edge.example:20001  on the node: 127.0.0.1:32771\n");
}

TEST(cli_views, WorkloadPageHasFactsConnectionAndRecentEvents) {
  json::object failed = Postgres();
  failed["status"] = "failed";
  failed["status_reason"] = "image not found";
  json::array events;
  for (int i = 0; i < 12; ++i)
    events.push_back({{"at", "2027-01-15T07:58:0" + std::to_string(i % 10) + "Z"},
                      {"status", "s" + std::to_string(i)},
                      {"message", "m"}});
  const std::string page = WorkloadPage(failed, events, kNow);
  EXPECT_NE(page.find("Name:       db\n"), std::string::npos) << page;
  EXPECT_NE(page.find("Reason:     image not found\n"), std::string::npos) << page;
  EXPECT_NE(page.find("Resources:  512 MB memory, 0.5 CPUs\n"), std::string::npos) << page;
  EXPECT_NE(page.find("Created:    2027-01-15T07:58:00Z (2m ago)\n"), std::string::npos);
  EXPECT_NE(page.find("connection_string"), std::string::npos);
  EXPECT_EQ(page.find(" s1 "), std::string::npos);  // only the 10 most recent events
  EXPECT_NE(page.find(" s2 "), std::string::npos);
  EXPECT_NE(page.find(" s11 "), std::string::npos);
}

TEST(cli_views, WorkloadPageShowsEachEndpointsReachability) {
  json::object w = Postgres();
  json::object& ep = w["endpoints"].as_array()[0].as_object();
  ep["probe"] = {{"state", "unreachable"},
                 {"reason", "agent-gone"},
                 {"message", "agent is gone"},
                 {"latency_ms", nullptr},
                 {"checked_at", "2027-01-15T07:59:58Z"},
                 {"changed_at", "2027-01-15T07:59:58Z"}};
  const std::string page = WorkloadPage(w, {}, kNow);
  EXPECT_NE(page.find("Reachability (from outside, through the edge):\n"), std::string::npos)
      << page;
  EXPECT_NE(page.find("postgres  unreachable  -        2s ago   agent is gone"), std::string::npos)
      << page;
  ep["probe"] = {
      {"state", "reachable"}, {"latency_ms", 1.5}, {"checked_at", "2027-01-15T07:59:58Z"}};
  EXPECT_NE(WorkloadPage(w, {}, kNow).find("reachable  1.5 ms"), std::string::npos);
  EXPECT_EQ(WorkloadPage(Postgres(), {}, kNow).find("Reachability"), std::string::npos);
}

TEST(cli_views, NodesTable) {
  const json::array nodes = json::parse(R"([{"id":"nd_1","name":"laptop","status":"ready",
      "cpus":8,"memory_mb":16000,"disk_mb":1,"labels":{},"agent_version":"0.1.0",
      "address":"127.0.0.1","last_heartbeat":"2027-01-15T07:59:55Z","created_at":"x"}])")
                                .as_array();
  EXPECT_EQ(NodesTable(nodes, kNow),
            "NAME    STATUS  ADDRESS    CPUS  MEMORY    VERSION  LAST SEEN\n"
            "laptop  ready   127.0.0.1  8     16000 MB  0.1.0    5s ago\n");
}

TEST(cli_views, TextRendersEveryJsonKind) {
  const json::object o =
      json::parse(R"({"s":"x","e":"","n":null,"i":3,"d":0.25,"b":true})").as_object();
  EXPECT_EQ(Text(o, "s"), "x");
  EXPECT_EQ(Text(o, "e"), "-");
  EXPECT_EQ(Text(o, "n"), "-");
  EXPECT_EQ(Text(o, "missing"), "-");
  EXPECT_EQ(Text(o, "i"), "3");
  EXPECT_EQ(Text(o, "d"), "0.25");
  EXPECT_EQ(Text(o, "b"), "true");
}

TEST(cli_views, InvitesTableShowsStatusAndWhoUsedThem) {
  const json::array invites = json::parse(R"([
    {"id": "inv_2", "note": "for Bob", "status": "pending", "created_by": {"id": "usr_a",
     "email": "root@x.io"}, "created_at": "2027-01-15T07:00:00Z",
     "expires_at": "2027-01-17T08:00:00Z", "used_by": null, "used_at": null},
    {"id": "inv_1", "note": "", "status": "used", "created_by": null,
     "created_at": "2027-01-13T08:00:00Z", "expires_at": "2027-01-20T08:00:00Z",
     "used_by": {"id": "usr_b", "email": "carol@x.io"}, "used_at": "2027-01-14T08:00:00Z"}
  ])")
                                  .as_array();
  EXPECT_EQ(InvitesTable(invites, kNow),
            "ID     NOTE     STATUS   USED BY     CREATED  EXPIRES\n"
            "inv_2  for Bob  pending  -           1h ago   in 2d\n"
            "inv_1  -        used     carol@x.io  2d ago   -\n");
}

TEST(cli_views, AuditTableNamesAnonymousActors) {
  const json::array events = json::parse(R"([
    {"id": 2, "at": "2027-01-15T07:59:00Z", "actor": null, "action": "auth.login",
     "target": null, "client_address": "10.0.0.9", "outcome": "failure",
     "detail": "no account with this email"},
    {"id": 1, "at": "2027-01-15T07:58:00Z", "actor": {"id": "usr_a", "email": "a@x.io"},
     "action": "workload.create", "target": "wl_1", "client_address": "127.0.0.1",
     "outcome": "success", "detail": "postgres 'db'"}
  ])")
                                 .as_array();
  EXPECT_EQ(AuditTable(events),
            "TIME                  ACTOR      ACTION           TARGET  FROM       OUTCOME  DETAIL\n"
            "2027-01-15T07:59:00Z  anonymous  auth.login       -       10.0.0.9   failure  "
            "no account with this email\n"
            "2027-01-15T07:58:00Z  a@x.io     workload.create  wl_1    127.0.0.1  success  "
            "postgres 'db'\n");
}

}  // namespace
}  // namespace lattice::cli
