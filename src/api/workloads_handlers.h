// /api/v1/workloads/*: create, list, get, stop, start, delete, timeline, logs. Every route is
// owner-scoped: another user's workload is 404, exactly like one that does not exist.
#pragma once

#include "api/api_context.h"
#include "http/router.h"

namespace lattice::api {

void AddWorkloadRoutes(http::Router& router, ApiContext& ctx);

}  // namespace lattice::api
