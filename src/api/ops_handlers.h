// Operations endpoints: /healthz (alive), /readyz (store reachable), /metrics (Prometheus).
#pragma once

#include "api/api_context.h"
#include "http/router.h"

namespace lattice::api {

void AddOpsRoutes(http::Router& router, ApiContext& ctx);

}  // namespace lattice::api
