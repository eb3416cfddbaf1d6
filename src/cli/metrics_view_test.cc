#include "cli/metrics_view.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace lattice::cli {
namespace {

TEST(cli_metrics_view, OneRowPerPointWithAveragesAndMaxima) {
  const auto series = boost::json::parse(R"({
    "workload_id": "wl_1", "from": "2027-01-15T08:00:00Z", "to": "2027-01-15T09:00:00Z",
    "step": 60, "resolution": "1m",
    "points": [{"at": "2027-01-15T08:01:00Z", "samples": 6, "cpu_percent": 97.26,
                "cpu_percent_max": 101.4, "memory_bytes": 67108864, "memory_bytes_max": 73400320,
                "memory_limit_bytes": 268435456, "net_rx_bps": 1536, "net_rx_bps_max": 2048,
                "net_tx_bps": 0, "net_tx_bps_max": 0, "disk_read_bps": 0,
                "disk_read_bps_max": 0, "disk_write_bps": 1048576, "disk_write_bps_max": 1048576}]
  })")
                          .as_object();
  const std::string text = MetricsTable(series);
  EXPECT_NE(text.find("every 60 s (1m data)"), std::string::npos) << text;
  EXPECT_NE(text.find("TIME"), std::string::npos);
  EXPECT_NE(text.find("2027-01-15 08:01:00"), std::string::npos) << text;
  EXPECT_NE(text.find("97.3% (101%)"), std::string::npos) << text;
  EXPECT_NE(text.find("64.0 MiB (70.0 MiB)"), std::string::npos) << text;
  EXPECT_NE(text.find("256.0 MiB"), std::string::npos);
  EXPECT_NE(text.find("1.5 KiB/s"), std::string::npos);
  EXPECT_NE(text.find("1.0 MiB/s"), std::string::npos);
}

TEST(cli_metrics_view, AnEmptySeriesSaysSo) {
  const auto series =
      boost::json::parse(R"({"from":"a","to":"b","step":30,"resolution":"raw","points":[]})")
          .as_object();
  EXPECT_NE(MetricsTable(series).find("No samples"), std::string::npos);
}

TEST(cli_metrics_view, BytesAndQueryValues) {
  EXPECT_EQ(HumanBytes(512), "512 B");
  EXPECT_EQ(HumanBytes(1536), "1.5 KiB");
  EXPECT_EQ(HumanBytes(3.5 * (1 << 30)), "3.5 GiB");
  EXPECT_EQ(UrlQueryValue("1h"), "1h");
  EXPECT_EQ(UrlQueryValue("a b&c"), "a%20b%26c");
}

}  // namespace
}  // namespace lattice::cli
