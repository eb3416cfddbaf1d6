// Endpoint probes over HTTP (docs/probes.md):
//   GET /api/v1/workloads/{id}/probes?since=&limit=   the workload's owner only (another user's
//                                                      workload is 404)
// answers each probed endpoint of the workload with its current state and its recent history
// (changes plus periodic samples, oldest first). `since`: unix seconds, an RFC 3339 time, or a
// duration before now ("6h"; default 24h); `limit`: rows per endpoint, 1-1000 (default 100).
// A bad parameter is a 400 problem naming it. docs/openapi.yaml is the contract.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "api/api_context.h"
#include "common/result.h"
#include "http/router.h"

namespace lattice::api {

void AddProbeRoutes(http::Router& router, ApiContext& ctx);

struct ProbeQuery {
  std::int64_t since = 0;
  int limit = 100;
};
// kInvalidArgument naming "since" or "limit" for a bad one.
Result<ProbeQuery> ParseProbeQuery(const std::optional<std::string>& since,
                                   const std::optional<std::string>& limit, std::int64_t now);

// The body of the answer: {workload_id, endpoints: [{name, container_port, public_port, probe,
// history: [{at, state, reason, message, latency_ms}]}]}.
boost::json::object ProbesJson(const std::string& workload_id,
                               const std::vector<control::EndpointProbes>& endpoints);

}  // namespace lattice::api
