// /api/v1/auth/*: register (with an invite when registration is by invite), login, logout,
// me, password, and the public sign-up settings (config).
#pragma once

#include "api/api_context.h"
#include "http/router.h"

namespace lattice::api {

void AddAuthRoutes(http::Router& router, ApiContext& ctx);

}  // namespace lattice::api
