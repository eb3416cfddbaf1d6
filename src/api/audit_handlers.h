// /api/v1/audit (administrators): the audit trail, newest first, a page at a time.
#pragma once

#include "api/api_context.h"
#include "http/router.h"

namespace lattice::api {

void AddAuditRoutes(http::Router& router, ApiContext& ctx);

}  // namespace lattice::api
