// Metrics over HTTP (docs/metrics.md):
//   GET /api/v1/workloads/{id}/metrics?from=&to=&step=   the workload's owner only (another
//                                                         user's workload is 404)
//   GET /api/v1/nodes/{id}/metrics?from=&to=&step=       administrators
// Each answers the planned range (control/metrics_query.h) with one point per bucket: the
// averages and maxima of CPU (percent of one core), memory (and its limit), network and disk
// throughput. A bad parameter is a 400 problem naming it. The Prometheus series of the same
// data (the newest sample of each workload and node) join the admin-only GET /metrics
// (ops_handlers.cc) through UsagePrometheus. docs/openapi.yaml is the contract.
#pragma once

#include <string>
#include <vector>

#include "api/api_context.h"
#include "control/metrics_service.h"
#include "http/router.h"

namespace lattice::api {

void AddMetricsRoutes(http::Router& router, ApiContext& ctx);

// The body of a metrics answer.
boost::json::object MetricSeriesJson(const control::MetricSeries& s, std::string_view id_key);

// The newest sample of each series in the Prometheus text format: lattice_workload_* gauges
// labelled {workload, name} and lattice_node_* gauges labelled {node, name}.
std::string UsagePrometheus(const std::vector<store::LatestMetric>& latest);

}  // namespace lattice::api
