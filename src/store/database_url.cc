#include "store/database_url.h"

namespace lattice::store {
namespace {

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

}  // namespace

Result<DatabaseChoice> ParseDatabaseUrl(std::string_view database) {
  if (database.empty() || database == "sqlite") return DatabaseChoice{Engine::kSqlite, ""};
  if (StartsWith(database, "postgres://") || StartsWith(database, "postgresql://"))
    return DatabaseChoice{Engine::kPostgres, std::string(database)};
  return Error::Invalid("'" + RedactDatabaseUrl(database) +
                        "' is not a database: expected 'sqlite' (the default, in the data dir) "
                        "or a postgres://user:password@host:port/dbname URL");
}

std::string RedactDatabaseUrl(std::string_view url) {
  std::string out(url);
  const auto scheme = out.find("://");
  const std::size_t start = scheme == std::string::npos ? 0 : scheme + 3;
  std::size_t end = out.find_first_of("/?#", start);
  if (end == std::string::npos) end = out.size();
  // userinfo is everything before the last '@' of the authority.
  const auto at = out.rfind('@', end == 0 ? 0 : end - 1);
  if (at != std::string::npos && at >= start) {
    const auto colon = out.find(':', start);
    if (colon != std::string::npos && colon < at) out.replace(colon + 1, at - colon - 1, "***");
  }
  // Query parameters that carry secrets.
  std::size_t q = out.find('?');
  while (q != std::string::npos && q < out.size()) {
    const std::size_t key = q + 1;
    const std::size_t eq = out.find('=', key);
    std::size_t amp = out.find('&', key);
    if (amp == std::string::npos) amp = out.size();
    if (eq != std::string::npos && eq < amp) {
      const std::string_view name(out.data() + key, eq - key);
      if (name == "password" || name == "sslpassword") {
        out.replace(eq + 1, amp - eq - 1, "***");
        amp = eq + 4;
      }
    }
    q = amp < out.size() ? amp : std::string::npos;
  }
  return out;
}

}  // namespace lattice::store
