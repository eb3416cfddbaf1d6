#include "backend/backend.h"

#include "cluster/pg_cluster.h"
#include "store/database_url.h"
#include "store/postgres/pg_store.h"
#include "store/sqlite/sqlite_store.h"

namespace lattice::backend {

Result<Backend> OpenBackend(const std::string& database, const std::string& sqlite_path,
                            const std::string& replica_id, const store::StoreOptions& options) {
  auto choice = store::ParseDatabaseUrl(database);
  if (!choice.ok()) return std::move(choice).error();
  Backend b;
  if (choice->engine == store::Engine::kSqlite) {
    auto st = store::OpenSqliteStore(sqlite_path);
    if (!st.ok()) return std::move(st).error();
    b.store = std::move(st).value();
    b.cluster = std::make_unique<control::SoloCluster>(replica_id);
    return b;
  }
  auto st = store::OpenPostgresStore(choice->url, options);
  if (!st.ok()) return std::move(st).error();
  b.store = std::move(st).value();
  auto pc = cluster::PgCluster::Open(choice->url, replica_id);
  if (!pc.ok()) return std::move(pc).error();
  b.cluster = std::move(pc).value();
  return b;
}

}  // namespace lattice::backend
