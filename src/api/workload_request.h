// Decodes the body of POST /api/v1/workloads into a templates::WorkloadRequest, reporting
// every mistyped field (semantic rules are templates::Validate's job).
#pragma once

#include <boost/json/object.hpp>

#include "common/result.h"
#include "templates/template.h"

namespace lattice::api {

Result<templates::WorkloadRequest> ParseWorkloadRequest(const boost::json::object& body);

}  // namespace lattice::api
