// /api/v1/nodes (list, for every signed-in user), /api/v1/nodes/join-tokens (admins),
// /api/v1/events (the signed-in user's live change stream), and the agent link endpoint.
#pragma once

#include "api/api_context.h"
#include "http/router.h"

namespace lattice::api {

void AddNodeRoutes(http::Router& router, ApiContext& ctx);

}  // namespace lattice::api
