// The JSON and Prometheus renderings of metrics (the routes themselves are exercised against
// the real binary in tests/api/test_metrics.py).
#include "api/metrics_handlers.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace lattice::api {
namespace {

TEST(MetricsJson, OnePointPerBucketWithAveragesAndMaxima) {
  control::MetricSeries s;
  s.series = "wl_1";
  s.plan = {store::MetricResolution::kMinute, 1'800'000'000, 1'800'003'600, 60};
  store::MetricPoint p;
  p.at = 1'800'000'060;
  p.samples = 6;
  p.cpu_avg = 12.3456;
  p.cpu_max = 99.999;
  p.memory_avg = 1024.4;
  p.memory_max = 2048;
  p.memory_limit = 4096;
  p.net_rx_avg = 10.6;
  p.disk_write_max = 7;
  s.points.push_back(p);
  const boost::json::object o = MetricSeriesJson(s, "workload_id");
  EXPECT_EQ(o.at("workload_id").as_string(), "wl_1");
  EXPECT_EQ(o.at("from").as_string(), "2027-01-15T08:00:00Z");
  EXPECT_EQ(o.at("step").as_int64(), 60);
  EXPECT_EQ(o.at("resolution").as_string(), "1m");
  const auto& pt = o.at("points").as_array().at(0).as_object();
  EXPECT_EQ(pt.at("at").as_string(), "2027-01-15T08:01:00Z");
  EXPECT_EQ(pt.at("samples").as_int64(), 6);
  EXPECT_DOUBLE_EQ(pt.at("cpu_percent").as_double(), 12.35);
  EXPECT_DOUBLE_EQ(pt.at("cpu_percent_max").as_double(), 100.0);
  EXPECT_EQ(pt.at("memory_bytes").as_int64(), 1024);
  EXPECT_EQ(pt.at("memory_limit_bytes").as_int64(), 4096);
  EXPECT_EQ(pt.at("net_rx_bps").as_int64(), 11);
  EXPECT_EQ(pt.at("disk_write_bps_max").as_int64(), 7);
}

TEST(MetricsPrometheus, TheNewestSampleOfEachWorkloadAndNodeIsAGauge) {
  std::vector<store::LatestMetric> latest = {
      {{"node_1", 10, 250, 3e9, 8e9, 1, 2, 3, 4}, "box", true},
      {{"wl_1", 10, 42.5, 1048576, 2097152, 5, 6, 7, 8}, "my \"db\"", false},
  };
  const std::string text = UsagePrometheus(latest);
  EXPECT_NE(text.find("# TYPE lattice_workload_cpu_percent gauge\n"), std::string::npos);
  EXPECT_NE(
      text.find("lattice_workload_cpu_percent{workload=\"wl_1\",name=\"my \\\"db\\\"\"} 42.5\n"),
      std::string::npos)
      << text;
  EXPECT_NE(text.find("lattice_workload_memory_limit_bytes{workload=\"wl_1\",name=\"my "
                      "\\\"db\\\"\"} 2097152\n"),
            std::string::npos);
  EXPECT_NE(text.find("lattice_node_cpu_percent{node=\"node_1\",name=\"box\"} 250\n"),
            std::string::npos);
  EXPECT_NE(text.find("lattice_node_disk_write_bytes_per_second{node=\"node_1\",name=\"box\"} 4\n"),
            std::string::npos);
  EXPECT_EQ(text.find("lattice_workload_cpu_percent{workload=\"node_1\""), std::string::npos);
}

}  // namespace
}  // namespace lattice::api
