#include "runtime/docker/engine_json.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace lattice::runtime::docker {
namespace {

namespace json = boost::json;

ContainerSpec FullSpec() {
  ContainerSpec s;
  s.name = "web";
  s.image = "lattice/busybox:dev";
  s.env = {"A=1"};
  s.command = {"sh", "-c", "echo hi"};
  s.ports = {{8080, "tcp", "127.0.0.1", 0}, {53, "udp", "127.0.0.1", 5353}};
  s.volumes = {{"web-data", "/data"}};
  s.memory_bytes = 64 << 20;
  s.cpus = 0.5;
  s.labels = {{"lattice.app", "a1"}};
  return s;
}

TEST(EngineJsonTest, ContainerCreateBody) {
  json::value v = ContainerCreateBody(FullSpec());
  EXPECT_EQ(v, json::parse(R"({
    "Image": "lattice/busybox:dev",
    "Env": ["A=1"],
    "Cmd": ["sh", "-c", "echo hi"],
    "Labels": {"lattice.app": "a1"},
    "ExposedPorts": {"8080/tcp": {}, "53/udp": {}},
    "HostConfig": {
      "PortBindings": {"8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": ""}],
                       "53/udp": [{"HostIp": "127.0.0.1", "HostPort": "5353"}]},
      "Mounts": [{"Type": "volume", "Source": "web-data", "Target": "/data", "ReadOnly": false}],
      "Memory": 67108864,
      "MemorySwap": 67108864,
      "NanoCpus": 500000000,
      "RestartPolicy": {"Name": "no"},
      "CapDrop": ["ALL"],
      "CapAdd": [],
      "SecurityOpt": ["no-new-privileges:true"],
      "Privileged": false,
      "PidsLimit": 512,
      "CpuShares": 1024,
      "ReadonlyRootfs": false,
      "LogConfig": {"Type": "json-file", "Config": {"max-size": "10485760", "max-file": "3"}}
    }})"));
}

TEST(EngineJsonTest, ConfinementNetworkAndUser) {
  ContainerSpec s = FullSpec();
  s.confinement.cap_add = {"CHOWN", "SETUID"};
  s.confinement.user = "999:999";
  s.confinement.read_only_rootfs = true;
  s.confinement.tmpfs = {"/tmp"};
  s.network = "lattice-t-usr_1";
  s.aliases = {"db"};
  json::object o = ContainerCreateBody(s);
  const json::object& h = o["HostConfig"].as_object();
  EXPECT_EQ(h.at("CapAdd"), json::parse(R"(["CHOWN","SETUID"])"));
  EXPECT_EQ(h.at("CapDrop"), json::parse(R"(["ALL"])"));
  EXPECT_EQ(h.at("ReadonlyRootfs"), json::value(true));
  EXPECT_EQ(h.at("Tmpfs"), json::parse(R"({"/tmp":"rw,noexec,nosuid,nodev,size=67108864"})"));
  EXPECT_EQ(h.at("NetworkMode"), json::value("lattice-t-usr_1"));
  EXPECT_EQ(o.at("User"), json::value("999:999"));
  EXPECT_EQ(o.at("NetworkingConfig"),
            json::parse(R"({"EndpointsConfig":{"lattice-t-usr_1":{"Aliases":["db"]}}})"));
  // A helper in another container's network namespace gets no endpoint of its own.
  ContainerSpec helper = s;
  helper.network = "container:lattice-wl_1";
  json::object ho = ContainerCreateBody(helper);
  EXPECT_EQ(ho["HostConfig"].as_object().at("NetworkMode"), json::value("container:lattice-wl_1"));
  EXPECT_FALSE(ho.contains("NetworkingConfig"));
  s.confinement.cap_add = {"ALL"};
  s.confinement.user = "root";
  s.confinement.tmpfs = {"tmp"};
  s.confinement.pids_limit = 0;
  const Status bad = ValidateSpec(s);
  ASSERT_FALSE(bad.ok());
  std::vector<std::string> fields;
  for (const auto& f : bad.error().fields) fields.push_back(f.field);
  EXPECT_EQ(fields, (std::vector<std::string>{"cap_add[0]", "user", "tmpfs[0]", "pids_limit"}));
}

TEST(EngineJsonTest, AVolumeCanBeMountedReadOnly) {
  ContainerSpec s = FullSpec();
  s.volumes.push_back({"web-logs", "/logs", true});
  json::value v = ContainerCreateBody(s);
  EXPECT_EQ(v.at("HostConfig").at("Mounts"), json::parse(R"([
    {"Type": "volume", "Source": "web-data", "Target": "/data", "ReadOnly": false},
    {"Type": "volume", "Source": "web-logs", "Target": "/logs", "ReadOnly": true}])"));
}

TEST(EngineJsonTest, NetworkCreateBodyAndList) {
  NetworkSpec n{"lattice-t-usr_1",
                "10.213.0.0/26",
                "10.213.0.1",
                "lt-0123456789ab",
                {{"lattice.tenant", "usr_1"}}};
  json::object o = NetworkCreateBody(n);
  EXPECT_EQ(o.at("Driver"), json::value("bridge"));
  EXPECT_EQ(o.at("Internal"), json::value(false));
  EXPECT_EQ(
      o.at("IPAM"),
      json::parse(
          R"({"Driver":"default","Config":[{"Subnet":"10.213.0.0/26","Gateway":"10.213.0.1"}]})"));
  EXPECT_EQ(o.at("Options").as_object().at("com.docker.network.bridge.name"),
            json::value("lt-0123456789ab"));
  auto list = NetworksFromList(json::parse(R"([
    {"Id":"n1","Name":"lattice-t-usr_1","Labels":{"lattice.tenant":"usr_1"},
     "IPAM":{"Config":[{"Subnet":"10.213.0.0/26"}]}},
    {"Id":"n2","Name":"bridge","Labels":{},"IPAM":{"Config":[{"Subnet":"172.17.0.0/16"}]}},
    "garbage", {"Name":"no-id"}])"));
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].labels.at("lattice.tenant"), "usr_1");
  EXPECT_EQ(list[0].subnets, std::vector<std::string>{"10.213.0.0/26"});
  EXPECT_EQ(list[1].subnets, std::vector<std::string>{"172.17.0.0/16"});
}

TEST(EngineJsonTest, NoCmdEnvOrLimitsWhenUnset) {
  ContainerSpec s;
  s.name = "x";
  s.image = "i";
  json::object o = ContainerCreateBody(s);
  EXPECT_FALSE(o.contains("Cmd"));
  EXPECT_FALSE(o.contains("Env"));
  EXPECT_FALSE(o["HostConfig"].as_object().contains("Memory"));
  EXPECT_FALSE(o["HostConfig"].as_object().contains("Tmpfs"));
  EXPECT_FALSE(o.contains("User"));
  EXPECT_FALSE(o.contains("NetworkingConfig"));
  EXPECT_FALSE(o["HostConfig"].as_object().contains("NanoCpus"));
}

TEST(EngineJsonTest, ValidateSpec) {
  EXPECT_TRUE(ValidateSpec(FullSpec()).ok());
  ContainerSpec s = FullSpec();
  s.name.clear();
  s.ports[0].container_port = 0;
  s.ports[1].protocol = "icmp";
  s.volumes[0].container_path = "data";
  s.cpus = -1;
  Status st = ValidateSpec(s);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kInvalidArgument);
  std::vector<std::string> fields;
  for (const auto& f : st.error().fields) fields.push_back(f.field);
  EXPECT_EQ(fields,
            (std::vector<std::string>{"name", "ports[0].container_port", "ports[1].protocol",
                                      "volumes[0].container_path", "cpus"}));
}

TEST(EngineJsonTest, InspectOfARunningContainer) {
  auto info = ContainerInfoFromInspect(json::parse(R"({
    "Id": "abc", "Name": "/web",
    "State": {"Status": "running", "Running": true, "ExitCode": 0, "OOMKilled": false,
              "Error": ""},
    "Config": {"Image": "lattice/busybox:dev", "Labels": {"k": "v", "bad": 1}},
    "HostConfig": {"PortBindings": {"8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": ""}]}},
    "NetworkSettings": {"Ports": {"8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": "49153"}],
                                  "9000/tcp": null}}})"));
  EXPECT_EQ(info.id, "abc");
  EXPECT_EQ(info.name, "web");
  EXPECT_EQ(info.image, "lattice/busybox:dev");
  EXPECT_EQ(info.state, "running");
  EXPECT_TRUE(info.running);
  EXPECT_EQ(info.labels, (std::map<std::string, std::string>{{"k", "v"}}));
  ASSERT_EQ(info.ports.size(), 1u);
  EXPECT_EQ(info.ports[0].container_port, 8080);
  EXPECT_EQ(info.ports[0].protocol, "tcp");
  EXPECT_EQ(info.ports[0].host_ip, "127.0.0.1");
  EXPECT_EQ(info.ports[0].host_port, 49153);
}

TEST(EngineJsonTest, InspectOfAnExitedContainerFallsBackToRequestedPorts) {
  auto info = ContainerInfoFromInspect(json::parse(R"({
    "Id": "abc", "Name": "/web",
    "State": {"Status": "exited", "Running": false, "ExitCode": 137, "OOMKilled": true,
              "Error": "boom"},
    "Config": {"Labels": null},
    "HostConfig": {"PortBindings": {"8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": ""}]}},
    "NetworkSettings": {"Ports": {}}})"));
  EXPECT_FALSE(info.running);
  EXPECT_EQ(info.exit_code, 137);
  EXPECT_TRUE(info.oom_killed);
  EXPECT_EQ(info.error, "boom");
  ASSERT_EQ(info.ports.size(), 1u);
  EXPECT_EQ(info.ports[0].host_port, 0);
}

TEST(EngineJsonTest, GarbageInspectReadsAsEmpty) {
  EXPECT_EQ(ContainerInfoFromInspect(json::parse("[1,2]")).id, "");
  auto info = ContainerInfoFromInspect(
      json::parse(R"({"State": 3, "NetworkSettings": {"Ports": {"x/tcp": [], "80": [7]}}})"));
  EXPECT_TRUE(info.ports.empty());
}

TEST(EngineJsonTest, Info) {
  auto info = EngineInfoFromInfo(json::parse(R"j({"NCPU": 4, "MemTotal": 8000000000,
    "ServerVersion": "20.10.24", "OperatingSystem": "Debian GNU/Linux 12 (bookworm)",
    "DockerRootDir": "/var/lib/docker"})j"));
  EXPECT_EQ(info.node.cpus, 4);
  EXPECT_EQ(info.node.memory_bytes, 8000000000);
  EXPECT_EQ(info.node.engine_version, "20.10.24");
  EXPECT_EQ(info.node.os, "Debian GNU/Linux 12 (bookworm)");
  EXPECT_EQ(info.root_dir, "/var/lib/docker");
}

TEST(EngineJsonTest, SplitImageRef) {
  auto check = [](std::string_view in, std::string image, std::string tag) {
    ImageRef r = SplitImageRef(in);
    EXPECT_EQ(r.from_image, image) << in;
    EXPECT_EQ(r.tag, tag) << in;
  };
  check("busybox", "busybox", "latest");
  check("lattice/postgres:15", "lattice/postgres", "15");
  check("localhost:5000/app", "localhost:5000/app", "latest");
  check("localhost:5000/app:v2", "localhost:5000/app", "v2");
  check("app@sha256:abcd", "app@sha256:abcd", "");
}

TEST(EngineJsonTest, ProgressScannerFindsAnErrorSplitAcrossPieces) {
  std::string stream =
      "{\"status\":\"Pulling from lattice/x\",\"id\":\"dev\"}\r\n"
      "{\"errorDetail\":{\"message\":\"pull access denied\"},\"error\":\"pull access denied\"}"
      "\r\n";
  for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
    ProgressScanner p;
    p.Feed(stream.substr(0, cut));
    p.Feed(stream.substr(cut));
    p.Finish();
    ASSERT_TRUE(p.error().has_value()) << cut;
    EXPECT_EQ(*p.error(), "pull access denied");
  }
  ProgressScanner ok;
  ok.Feed("{\"status\":\"Downloading\"}\r\n{\"status\":\"Status: Downloaded newer image\"}");
  ok.Finish();
  EXPECT_FALSE(ok.error().has_value());
  ProgressScanner bare;
  bare.Feed("{\"error\":\"no space left\"}");
  bare.Finish();
  EXPECT_EQ(bare.error().value_or(""), "no space left");
}

// What Docker 20.10+ answers for /containers/{id}/stats?stream=false&one-shot=true on a
// cgroup v2 host (trimmed): no precpu reading, memory cache in inactive_file, lower-case ops.
constexpr const char* kStatsV2 = R"({
  "read": "2026-12-07T10:00:00.123456789Z", "preread": "0001-01-01T00:00:00Z",
  "pids_stats": {"current": 7, "limit": 512},
  "blkio_stats": {"io_service_bytes_recursive": [
    {"major": 8, "minor": 0, "op": "read", "value": 4096},
    {"major": 8, "minor": 0, "op": "write", "value": 8192},
    {"major": 8, "minor": 16, "op": "read", "value": 1000},
    {"major": 8, "minor": 16, "op": "write", "value": 24}]},
  "cpu_stats": {"cpu_usage": {"total_usage": 2500000000, "usage_in_kernelmode": 500000000,
                              "usage_in_usermode": 2000000000},
                "system_cpu_usage": 900000000000, "online_cpus": 2, "throttling_data": {}},
  "precpu_stats": {"cpu_usage": {"total_usage": 0}, "throttling_data": {}},
  "memory_stats": {"usage": 73400320, "limit": 134217728,
                   "stats": {"anon": 60000000, "file": 13400320, "inactive_file": 10485760}},
  "name": "/lattice-wl_1", "id": "abc",
  "networks": {"eth0": {"rx_bytes": 1500, "rx_packets": 10, "tx_bytes": 700, "tx_packets": 5},
               "eth1": {"rx_bytes": 500, "tx_bytes": 300}}
})";

// The same from a cgroup v1 host: total_inactive_file, capitalised ops with a Total row, and
// per-core usage instead of online_cpus.
constexpr const char* kStatsV1 = R"({
  "read": "2026-12-07T10:00:00Z",
  "blkio_stats": {"io_service_bytes_recursive": [
    {"major": 8, "minor": 0, "op": "Read", "value": 4096},
    {"major": 8, "minor": 0, "op": "Write", "value": 8192},
    {"major": 8, "minor": 0, "op": "Sync", "value": 12288},
    {"major": 8, "minor": 0, "op": "Total", "value": 12288}]},
  "cpu_stats": {"cpu_usage": {"total_usage": 100, "percpu_usage": [50, 25, 25, 0]},
                "system_cpu_usage": 1000},
  "memory_stats": {"usage": 2000, "limit": 9000,
                   "stats": {"cache": 1500, "total_inactive_file": 500, "inactive_file": 400}}
})";

TEST(EngineJsonTest, StatsOfACgroupV2Container) {
  const json::value v = json::parse(kStatsV2);
  ASSERT_TRUE(StatsAreLive(v));
  const ContainerStats s = ContainerStatsFromJson(v);
  EXPECT_EQ(s.cpu_total_ns, 2500000000u);
  EXPECT_EQ(s.system_cpu_ns, 900000000000u);
  EXPECT_EQ(s.online_cpus, 2);
  EXPECT_EQ(s.memory_bytes, 73400320u - 10485760u);  // the reclaimable cache is left out
  EXPECT_EQ(s.memory_limit_bytes, 134217728u);
  EXPECT_EQ(s.net_rx_bytes, 2000u);  // both interfaces
  EXPECT_EQ(s.net_tx_bytes, 1000u);
  EXPECT_EQ(s.disk_read_bytes, 5096u);  // both devices
  EXPECT_EQ(s.disk_write_bytes, 8216u);
  EXPECT_EQ(s.pids, 7u);
}

TEST(EngineJsonTest, StatsOfACgroupV1Container) {
  const ContainerStats s = ContainerStatsFromJson(json::parse(kStatsV1));
  EXPECT_EQ(s.online_cpus, 4);          // counted from percpu_usage
  EXPECT_EQ(s.memory_bytes, 1500u);     // usage - total_inactive_file (v1 wins)
  EXPECT_EQ(s.disk_read_bytes, 4096u);  // "Sync" and "Total" are not counted again
  EXPECT_EQ(s.disk_write_bytes, 8192u);
  EXPECT_EQ(s.net_rx_bytes + s.net_tx_bytes, 0u);  // no networks (host or none)
}

TEST(EngineJsonTest, StatsOfAStoppedContainerAreNotLive) {
  // A stopped container's answer: 200, zero read time, empty counters.
  const json::value v = json::parse(
      R"({"read":"0001-01-01T00:00:00Z","cpu_stats":{"cpu_usage":{"total_usage":0}},
          "memory_stats":{}})");
  EXPECT_FALSE(StatsAreLive(v));
  EXPECT_FALSE(StatsAreLive(json::parse("[]")));
  EXPECT_FALSE(StatsAreLive(json::parse("{}")));
}

TEST(EngineJsonTest, HostileStatsReadAsZero) {
  const ContainerStats s = ContainerStatsFromJson(json::parse(
      R"({"read":"x","cpu_stats":{"cpu_usage":{"total_usage":-5},"online_cpus":"two",
          "system_cpu_usage":1e300},
          "memory_stats":{"usage":"lots","limit":-1,"stats":{"inactive_file":99}},
          "networks":{"eth0":7,"eth1":{"rx_bytes":-3,"tx_bytes":2.5}},
          "blkio_stats":{"io_service_bytes_recursive":[3,{"op":7,"value":1},{"op":"read"}]}})"));
  EXPECT_EQ(s.cpu_total_ns, 0u);
  EXPECT_EQ(s.system_cpu_ns, 0u);
  EXPECT_EQ(s.online_cpus, 0);
  EXPECT_EQ(s.memory_bytes, 0u);
  EXPECT_EQ(s.memory_limit_bytes, 0u);
  EXPECT_EQ(s.net_rx_bytes, 0u);
  EXPECT_EQ(s.net_tx_bytes, 2u);
  EXPECT_EQ(s.disk_read_bytes, 0u);
  EXPECT_EQ(ContainerStatsFromJson(json::parse("null")).memory_bytes, 0u);
}

}  // namespace
}  // namespace lattice::runtime::docker
