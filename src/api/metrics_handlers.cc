#include "api/metrics_handlers.h"

#include <boost/json.hpp>

#include <cmath>

#include "common/clock.h"
#include "http/problem.h"

namespace lattice::api {

using http::Access;
using http::Reply;
using http::RequestContext;
namespace bhttp = http::bhttp;
namespace json = boost::json;
namespace asio = boost::asio;

namespace {

double Cents(double v) {
  return std::round(v * 100) / 100;
}
std::int64_t Whole(double v) {
  return static_cast<std::int64_t>(std::llround(v));
}

control::MetricsParams ParamsOf(const RequestContext& req) {
  return {req.QueryParam("from"), req.QueryParam("to"), req.QueryParam("step")};
}

// A label value in the exposition format: backslash, quote and newline escaped.
std::string LabelValue(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"')
      out += '\\', out += c;
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string Number(double v) {
  char buf[64];
  const int n = std::snprintf(buf, sizeof buf, "%.10g", v);
  return std::string(buf, n > 0 ? static_cast<std::size_t>(n) : 0);
}

}  // namespace

json::object MetricSeriesJson(const control::MetricSeries& s, std::string_view id_key) {
  json::array points;
  for (const store::MetricPoint& p : s.points) {
    points.push_back({{"at", FormatTimestamp(p.at)},
                      {"samples", p.samples},
                      {"cpu_percent", Cents(p.cpu_avg)},
                      {"cpu_percent_max", Cents(p.cpu_max)},
                      {"memory_bytes", Whole(p.memory_avg)},
                      {"memory_bytes_max", Whole(p.memory_max)},
                      {"memory_limit_bytes", Whole(p.memory_limit)},
                      {"net_rx_bps", Whole(p.net_rx_avg)},
                      {"net_rx_bps_max", Whole(p.net_rx_max)},
                      {"net_tx_bps", Whole(p.net_tx_avg)},
                      {"net_tx_bps_max", Whole(p.net_tx_max)},
                      {"disk_read_bps", Whole(p.disk_read_avg)},
                      {"disk_read_bps_max", Whole(p.disk_read_max)},
                      {"disk_write_bps", Whole(p.disk_write_avg)},
                      {"disk_write_bps_max", Whole(p.disk_write_max)}});
  }
  json::object out;
  out[id_key] = s.series;
  out["from"] = FormatTimestamp(s.plan.from);
  out["to"] = FormatTimestamp(s.plan.to);
  out["step"] = s.plan.step;
  out["resolution"] = std::string(control::ResolutionName(s.plan.resolution));
  out["points"] = std::move(points);
  return out;
}

std::string UsagePrometheus(const std::vector<store::LatestMetric>& latest) {
  struct Gauge {
    const char* suffix;
    const char* help;
    double store::MetricSample::*field;
  };
  static constexpr Gauge kGauges[] = {
      {"cpu_percent", "CPU used over the last sampling interval, percent of one core.",
       &store::MetricSample::cpu_percent},
      {"memory_bytes", "Memory in use (without reclaimable page cache).",
       &store::MetricSample::memory_bytes},
      {"memory_limit_bytes", "Memory limit (a node: its total memory).",
       &store::MetricSample::memory_limit_bytes},
      {"network_receive_bytes_per_second", "Bytes received per second.",
       &store::MetricSample::net_rx_bps},
      {"network_transmit_bytes_per_second", "Bytes sent per second.",
       &store::MetricSample::net_tx_bps},
      {"disk_read_bytes_per_second", "Bytes read from block devices per second.",
       &store::MetricSample::disk_read_bps},
      {"disk_write_bytes_per_second", "Bytes written to block devices per second.",
       &store::MetricSample::disk_write_bps},
  };
  std::string out;
  for (const bool nodes : {false, true}) {
    const std::string prefix = nodes ? "lattice_node_" : "lattice_workload_";
    const char* label = nodes ? "node" : "workload";
    for (const Gauge& g : kGauges) {
      const std::string name = prefix + g.suffix;
      out += "# HELP " + name + " " + g.help + "\n# TYPE " + name + " gauge\n";
      for (const auto& m : latest) {
        if (m.is_node != nodes) continue;
        out += name + "{" + label + "=\"" + LabelValue(m.sample.series) + "\",name=\"" +
               LabelValue(m.name) + "\"} " + Number(m.sample.*(g.field)) + "\n";
      }
    }
  }
  return out;
}

void AddMetricsRoutes(http::Router& router, ApiContext& ctx) {
  router.Add(bhttp::verb::get, "/api/v1/workloads/{id}/metrics", Access::kUser,
             [&ctx](RequestContext& req) -> asio::awaitable<Reply> {
               auto s = ctx.metrics_service.ForWorkload(
                   *req.principal, std::string(req.Param("id")), ParamsOf(req));
               if (!s.ok()) co_return http::ProblemReply(s.error(), req.path);
               co_return http::JsonReply(bhttp::status::ok, MetricSeriesJson(*s, "workload_id"));
             });
  router.Add(bhttp::verb::get, "/api/v1/nodes/{id}/metrics", Access::kAdmin,
             [&ctx](RequestContext& req) -> asio::awaitable<Reply> {
               auto s = ctx.metrics_service.ForNode(std::string(req.Param("id")), ParamsOf(req));
               if (!s.ok()) co_return http::ProblemReply(s.error(), req.path);
               co_return http::JsonReply(bhttp::status::ok, MetricSeriesJson(*s, "node_id"));
             });
}

}  // namespace lattice::api
