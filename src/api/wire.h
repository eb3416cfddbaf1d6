// Wire types: how records appear in API responses (docs/openapi.yaml is the contract).
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>

#include "common/principal.h"
#include "store/models.h"

namespace lattice::api {

// {id, email, role, created_at}
boost::json::value UserJson(const store::User& u);
boost::json::value UserJson(const Principal& p);

// {id, note, status, created_by, created_at, expires_at, used_by, used_at}; status is
// "pending", "used" or "expired" as of `now`.
boost::json::object InviteJson(const store::Invite& i, std::int64_t now);

// {id, at, actor, action, target, client_address, outcome, detail}; actor and target are null
// for an anonymous caller and an action on nothing in particular.
boost::json::object AuditEventJson(const store::AuditEvent& e);

}  // namespace lattice::api
