// /api/v1/invites (administrators): create a single-use, expiring sign-up invite (its code is
// in the response only), list them, delete one.
#pragma once

#include "api/api_context.h"
#include "http/router.h"

namespace lattice::api {

void AddInviteRoutes(http::Router& router, ApiContext& ctx);

}  // namespace lattice::api
