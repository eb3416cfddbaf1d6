// Backups over HTTP (issue 19), every route owner-scoped (another user's workload, target or
// backup is 404):
//   POST/GET /api/v1/backup-targets, DELETE /api/v1/backup-targets/{id}; creating a target
//   probes it (control::Backups::ProbeTarget) and refuses one that does not work, saying why;
//   POST /api/v1/backup-targets/{id}/check probes it again
//   PUT/GET/DELETE /api/v1/workloads/{id}/backup-policy
//   POST/GET /api/v1/workloads/{id}/backups, GET /api/v1/workloads/{id}/backups/{backup_id}
//   POST /api/v1/workloads/{id}/backups/{backup_id}/verify (verify again, now)
//   POST /api/v1/workloads/{id}/restore (a new workload from a backup, control/backups.h)
// The JSON of targets (never their keys), policies and backups is here too; docs/openapi.yaml
// is the contract. Changes are audited.
#pragma once

#include "api/api_context.h"
#include "http/router.h"

namespace lattice::api {

void AddBackupRoutes(http::Router& router, ApiContext& ctx);

}  // namespace lattice::api
