// OpenBackend: the --database setting turned into the two things that must match, the store and
// the coordination of the replicas sharing it.
//  - "" or "sqlite": SqliteStore at `sqlite_path` + control::SoloCluster (one process, always
//    the leader, nobody to tell).
//  - "postgres://…" / "postgresql://…": PostgresStore on that URL (deadlines from `options`) +
//    cluster::PgCluster on the same URL (NOTIFY fan-out, advisory-lock leadership), since other
//    replicas may share the database.
//  - anything else: kInvalidArgument (the message never repeats a password).
// Errors of the engines pass through: kUnavailable if PostgreSQL cannot be reached, kConflict if
// the schema is newer than this binary's. Nothing is half-opened on failure.
// The cluster is returned unstarted: set its handler, then Start() it. The caller owns both and
// must Stop() the cluster before its handler's targets go; it does not refer to the store.
#pragma once

#include <memory>
#include <string>

#include "common/result.h"
#include "control/cluster.h"
#include "store/store.h"

namespace lattice::backend {

struct Backend {
  std::unique_ptr<store::Store> store;
  std::unique_ptr<control::Cluster> cluster;
};

// `replica_id` names this process to the other replicas ("rep_…", unique per start).
Result<Backend> OpenBackend(const std::string& database, const std::string& sqlite_path,
                            const std::string& replica_id, const store::StoreOptions& options = {});

}  // namespace lattice::backend
