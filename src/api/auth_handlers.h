// /api/v1/auth/*: register, login, logout, me, password.
#pragma once

#include "api/api_context.h"
#include "http/router.h"

namespace lattice::api {

void AddAuthRoutes(http::Router& router, ApiContext& ctx);

}  // namespace lattice::api
