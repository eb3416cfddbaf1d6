// The stats sampler (hermetic: the fake engine, a manual clock, /proc fixtures in a temp dir):
// CPU percent and rates from the difference of two readings, baselines, restarts, and the
// node's totals parsed from /proc.
#include "agent/stats_sampler.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "agent/fake_runtime.h"
#include "agent/node_stats.h"
#include "agent/workload_container.h"
#include "common/random.h"

namespace lattice::agent {
namespace {

namespace fs = std::filesystem;

runtime::ContainerStats Reading(std::uint64_t cpu_ns, std::uint64_t system_ns,
                                std::uint64_t bytes) {
  runtime::ContainerStats s;
  s.cpu_total_ns = cpu_ns;
  s.system_cpu_ns = system_ns;
  s.online_cpus = 2;
  s.memory_bytes = 64 << 20;
  s.memory_limit_bytes = 128 << 20;
  s.net_rx_bytes = bytes;
  s.net_tx_bytes = bytes / 2;
  s.disk_read_bytes = bytes * 2;
  s.disk_write_bytes = bytes * 4;
  return s;
}

TEST(ContainerUsage, CpuPercentIsTheContainersShareOfTheHostsCpuTimeTimesItsCores) {
  // 10 s on a 2-core host: the host spent 20 s of CPU time, the container 10 s of it — one
  // core busy, 100 %.
  auto u = ContainerUsage(Reading(5e9, 100e9, 1000), Reading(15e9, 120e9, 11000), 10, 1234);
  ASSERT_TRUE(u);
  EXPECT_EQ(u->at, 1234);
  EXPECT_NEAR(u->cpu_percent, 100.0, 1e-9);
  EXPECT_DOUBLE_EQ(u->memory_bytes, 64 << 20);
  EXPECT_DOUBLE_EQ(u->memory_limit_bytes, 128 << 20);
  EXPECT_DOUBLE_EQ(u->net_rx_bps, 1000);  // 10000 bytes in 10 s
  EXPECT_DOUBLE_EQ(u->net_tx_bps, 500);
  EXPECT_DOUBLE_EQ(u->disk_read_bps, 2000);
  EXPECT_DOUBLE_EQ(u->disk_write_bps, 4000);
  // Both cores busy: 200 %.
  EXPECT_NEAR(ContainerUsage(Reading(0, 0, 0), Reading(20e9, 20e9, 0), 10, 1)->cpu_percent, 200,
              1e-9);
}

TEST(ContainerUsage, WithoutTheHostsCpuTimeTheWallClockIsTheMeasure) {
  runtime::ContainerStats a = Reading(0, 0, 0), b = Reading(2.5e9, 0, 0);
  auto u = ContainerUsage(a, b, 10, 1);
  ASSERT_TRUE(u);
  EXPECT_NEAR(u->cpu_percent, 25.0, 1e-9);
}

TEST(ContainerUsage, CountersGoingBackwardsMakeANewBaseline) {
  EXPECT_FALSE(ContainerUsage(Reading(5e9, 100e9, 1000), Reading(1e9, 110e9, 2000), 10, 1));
  EXPECT_FALSE(ContainerUsage(Reading(5e9, 100e9, 1000), Reading(6e9, 110e9, 10), 10, 1));
  EXPECT_FALSE(ContainerUsage(Reading(5e9, 100e9, 1000), Reading(6e9, 110e9, 2000), 0, 1));
}

constexpr const char* kProcStat =
    "cpu  100 0 100 700 100 0 0 0 0 0\n"
    "cpu0 50 0 50 350 50 0 0 0 0 0\n"
    "cpu1 50 0 50 350 50 0 0 0 0 0\n"
    "intr 12345\nctxt 999\n";
constexpr const char* kMeminfo =
    "MemTotal:        8000000 kB\nMemFree:         1000000 kB\nMemAvailable:    6000000 kB\n";
constexpr const char* kNetDev =
    "Inter-|   Receive                                                |  Transmit\n"
    " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets\n"
    "    lo: 9999 10 0 0 0 0 0 0 9999 10 0 0 0 0 0 0\n"
    "  eth0: 1000 10 0 0 0 0 0 0 2000 20 0 0 0 0 0 0\n"
    "docker0: 500 5 0 0 0 0 0 0 500 5 0 0 0 0 0 0\n"
    "veth12ab: 500 5 0 0 0 0 0 0 500 5 0 0 0 0 0 0\n"
    "lt-0123456789ab: 5 5 0 0 0 0 0 0 5 5 0 0 0 0 0 0\n"
    "  ens3: 3000 10 0 0 0 0 0 0 4000 20 0 0 0 0 0 0\n";
constexpr const char* kDiskstats =
    "   8       0 sda 100 0 2000 0 50 0 4000 0 0 0 0\n"
    "   8       1 sda1 100 0 2000 0 50 0 4000 0 0 0 0\n"
    "   7       0 loop0 10 0 100 0 0 0 0 0 0 0 0\n"
    " 253       0 dm-0 10 0 100 0 0 0 100 0 0 0 0\n";

TEST(NodeStats, ProcFilesAreParsedAndOnlyTheNodesOwnDevicesCount) {
  NodeCounters c;
  ParseProcStat(kProcStat, c);
  ParseMeminfo(kMeminfo, c);
  ParseNetDev(kNetDev, c);
  ParseDiskstats(
      kDiskstats, [](std::string_view n) { return n == "sda" || n == "loop0" || n == "dm-0"; }, c);
  EXPECT_TRUE(c.ok);
  EXPECT_EQ(c.cpus, 2);
  EXPECT_EQ(c.cpu_total_ticks, 1000u);
  EXPECT_EQ(c.cpu_idle_ticks, 800u);
  EXPECT_EQ(c.memory_total_bytes, 8000000ull * 1024);
  EXPECT_EQ(c.memory_available_bytes, 6000000ull * 1024);
  EXPECT_EQ(c.net_rx_bytes, 4000u);  // eth0 + ens3; not lo, docker0, veth, lt- bridges
  EXPECT_EQ(c.net_tx_bytes, 6000u);
  EXPECT_EQ(c.disk_read_bytes, 2000u * 512);  // sda only: not its partition, loop or dm
  EXPECT_EQ(c.disk_write_bytes, 4000u * 512);
  EXPECT_FALSE(CountsInterface("lo"));
  EXPECT_TRUE(CountsInterface("wlan0"));
  EXPECT_TRUE(CountsDisk("nvme0n1"));
  EXPECT_FALSE(CountsDisk("zram0"));
}

TEST(NodeStats, NodeUsageIsBusyTimeOverTotalTimesCores) {
  NodeCounters a, b;
  ParseProcStat(kProcStat, a);
  ParseProcStat("cpu  200 0 200 1400 200 0 0 0 0 0\ncpu0 1\ncpu1 1\n", b);  // +1000, 200 busy
  ParseMeminfo(kMeminfo, b);
  a.net_rx_bytes = 0;
  b.net_rx_bytes = 5000;
  auto u = NodeUsage(a, b, 5, 99);
  ASSERT_TRUE(u);
  EXPECT_NEAR(u->cpu_percent, 40.0, 1e-9);  // 20 % of the time busy, on 2 cores
  EXPECT_DOUBLE_EQ(u->memory_bytes, 2000000.0 * 1024);
  EXPECT_DOUBLE_EQ(u->memory_limit_bytes, 8000000.0 * 1024);
  EXPECT_DOUBLE_EQ(u->net_rx_bps, 1000);
  EXPECT_FALSE(NodeUsage(b, a, 5, 99));  // time going backwards
}

class StatsSamplerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("lattice-stats-" + RandomToken(8));
    fs::create_directories(dir_ / "proc/net");
    fs::create_directories(dir_ / "sys/block/sda");
    Write("proc/stat", kProcStat);
    Write("proc/meminfo", kMeminfo);
    Write("proc/net/dev", kNetDev);
    Write("proc/diskstats", kDiskstats);
    runtime::ContainerSpec spec;
    spec.name = ContainerName("wl_1");
    spec.image = "img";
    auto id = engine_.Create(spec);
    ASSERT_TRUE(id.ok());
    ASSERT_TRUE(engine_.Start(*id).ok());
    container_ = *id;
  }
  void TearDown() override { fs::remove_all(dir_); }
  void Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
  }
  StatsSamplerOptions Options() {
    StatsSamplerOptions o;
    o.proc_root = (dir_ / "proc").string();
    o.sys_root = (dir_ / "sys").string();
    return o;
  }

  fs::path dir_;
  testing::FakeRuntime engine_;
  ManualSteadyClock clock_;
  std::string container_;
  std::vector<std::string> running_ = {"wl_1", "wl_gone"};
};

TEST_F(StatsSamplerTest, TheFirstPassIsTheBaselineAndTheNextOneMeasuresTheInterval) {
  StatsSampler sampler(
      engine_, [this] { return running_; }, [](link::MetricsBatch) {}, Options(), clock_);
  engine_.SetStats(ContainerName("wl_1"), Reading(5e9, 100e9, 1000));
  link::MetricsBatch first = sampler.SampleOnce(1000);
  EXPECT_TRUE(first.workloads.empty());
  EXPECT_TRUE(first.node.empty());
  EXPECT_EQ(first.interval_seconds, 10);
  EXPECT_EQ(engine_.stats_calls(), 2);  // one request per running container

  clock_.Advance(std::chrono::seconds(10));
  engine_.SetStats(ContainerName("wl_1"), Reading(10e9, 120e9, 11000));
  Write("proc/stat", "cpu  200 0 200 1400 200 0 0 0 0 0\ncpu0 1\ncpu1 1\n");
  link::MetricsBatch second = sampler.SampleOnce(1010);
  ASSERT_EQ(second.workloads.size(), 1u);  // wl_gone has no container
  EXPECT_EQ(second.workloads[0].workload_id, "wl_1");
  EXPECT_EQ(second.workloads[0].usage.at, 1010);
  EXPECT_NEAR(second.workloads[0].usage.cpu_percent, 50.0, 1e-9);
  EXPECT_DOUBLE_EQ(second.workloads[0].usage.net_rx_bps, 1000);
  ASSERT_EQ(second.node.size(), 1u);
  EXPECT_NEAR(second.node[0].cpu_percent, 40.0, 1e-9);
  EXPECT_EQ(engine_.stats_calls(), 4);
}

TEST_F(StatsSamplerTest, AStoppedOrRestartedContainerStartsAgainFromABaseline) {
  StatsSamplerOptions o = Options();
  o.node_totals = false;
  StatsSampler sampler(
      engine_, [this] { return running_; }, [](link::MetricsBatch) {}, o, clock_);
  engine_.SetStats(ContainerName("wl_1"), Reading(5e9, 100e9, 1000));
  sampler.SampleOnce(1000);
  ASSERT_TRUE(engine_.Stop(container_, std::chrono::seconds(0)).ok());
  clock_.Advance(std::chrono::seconds(10));
  EXPECT_TRUE(sampler.SampleOnce(1010).workloads.empty());  // not running: no reading
  ASSERT_TRUE(engine_.Start(container_).ok());
  engine_.SetStats(ContainerName("wl_1"), Reading(1e9, 130e9, 10));  // counters restarted
  clock_.Advance(std::chrono::seconds(10));
  EXPECT_TRUE(sampler.SampleOnce(1020).workloads.empty());  // the new baseline
  engine_.SetStats(ContainerName("wl_1"), Reading(2e9, 150e9, 20));
  clock_.Advance(std::chrono::seconds(10));
  auto batch = sampler.SampleOnce(1030);
  ASSERT_EQ(batch.workloads.size(), 1u);
  EXPECT_NEAR(batch.workloads[0].usage.cpu_percent, 10.0, 1e-9);  // 1 s of 20 s, ×2 cores
}

TEST_F(StatsSamplerTest, TheThreadShipsABatchEveryInterval) {
  StatsSamplerOptions o = Options();
  o.interval = std::chrono::milliseconds(20);
  std::mutex mu;
  std::condition_variable cv;
  std::vector<link::MetricsBatch> got;
  // The real clock here: the readings must be apart for the rates to exist.
  StatsSampler sampler(
      engine_, [this] { return running_; },
      [&](link::MetricsBatch b) {
        std::lock_guard lock(mu);
        got.push_back(std::move(b));
        cv.notify_all();
      },
      o);
  std::uint64_t cpu = 1e9;
  engine_.SetStats(ContainerName("wl_1"), Reading(cpu, 0, 0));
  sampler.Start();
  std::unique_lock lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return got.size() >= 2; }));
  lock.unlock();
  sampler.Stop();
  for (const auto& b : got) EXPECT_LE(b.workloads.size(), 1u);
}

}  // namespace
}  // namespace lattice::agent
