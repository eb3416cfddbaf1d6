// Wire types: how records appear in API responses (docs/openapi.yaml is the contract).
#pragma once

#include <boost/json/value.hpp>

#include "common/principal.h"
#include "store/models.h"

namespace lattice::api {

// {id, email, role, created_at}
boost::json::value UserJson(const store::User& u);
boost::json::value UserJson(const Principal& p);

}  // namespace lattice::api
