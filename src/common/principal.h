// Principal: who is calling, once a bearer token has been verified. Produced by auth/,
// consumed by http/ (access checks) and api/ (owner scoping).
#pragma once

#include <cstdint>
#include <string>

namespace lattice {

struct Principal {
  std::string user_id;
  std::string email;
  std::string role;  // "admin" or "user"
  std::string session_id;
  std::int64_t created_at = 0;
  bool is_admin() const { return role == "admin"; }
};

}  // namespace lattice
