#include "api/wire.h"

#include <boost/json.hpp>

#include "common/clock.h"

namespace lattice::api {

boost::json::value UserJson(const store::User& u) {
  return {{"id", u.id},
          {"email", u.email},
          {"role", u.role},
          {"created_at", FormatTimestamp(u.created_at)}};
}

boost::json::value UserJson(const Principal& p) {
  return {{"id", p.user_id},
          {"email", p.email},
          {"role", p.role},
          {"created_at", FormatTimestamp(p.created_at)}};
}

namespace {

boost::json::value UserRef(const std::string& id, const std::string& email) {
  if (id.empty()) return nullptr;
  return {{"id", id}, {"email", email}};
}

}  // namespace

boost::json::object InviteJson(const store::Invite& i, std::int64_t now) {
  const char* status = i.used_at ? "used" : i.expires_at <= now ? "expired" : "pending";
  return {{"id", i.id},
          {"note", i.note},
          {"status", status},
          {"created_by", UserRef(i.created_by, i.created_by_email)},
          {"created_at", FormatTimestamp(i.created_at)},
          {"expires_at", FormatTimestamp(i.expires_at)},
          {"used_by", i.used_at ? UserRef(i.used_by, i.used_by_email) : nullptr},
          {"used_at", i.used_at ? boost::json::value(FormatTimestamp(*i.used_at)) : nullptr}};
}

boost::json::object AuditEventJson(const store::AuditEvent& e) {
  return {{"id", e.id},
          {"at", FormatTimestamp(e.at)},
          {"actor", UserRef(e.actor_id, e.actor_email)},
          {"action", e.action},
          {"target", e.target.empty() ? boost::json::value(nullptr) : boost::json::value(e.target)},
          {"client_address", e.client_address},
          {"outcome", e.outcome},
          {"detail", e.detail}};
}

}  // namespace lattice::api
