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

}  // namespace lattice::api
