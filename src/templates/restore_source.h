// Where a new workload's data comes from (issue 19, docs/backups.md "Restore"): a PostgreSQL
// backup in an S3 bucket, restored into the workload's empty data volume by the node's agent
// before the workload's container first starts, optionally recovered to a point in time, with
// the backup's role given the new workload's password. Part of the rendered workload (sealed at
// rest with it, as the bucket's keys are secrets), so an agent that restarts mid-restore is
// handed the same restore again; the tool makes a second run of a finished restore a no-op.
// Or (kind volume) a snapshot of an S3 or custom workload's volumes, extracted into the new
// workload's empty volumes before its container first starts.
//
// Also the description of any bucket a backup job reads or writes (link::BackupTargetSpec).
// The JSON codec is shared by the stored spec and the agent link. Pure; thread-safe.
#pragma once

#include <boost/json/object.hpp>

#include <string>

#include "common/states.h"

namespace lattice::templates {

// One S3 bucket. The keys travel only inside the link's TLS and sealed at rest, and reach a
// job as a file, never in an environment or a command line.
struct S3Target {
  std::string endpoint;  // http(s)://host[:port]; empty when `workload_name` is set
  std::string bucket;
  std::string region;
  std::string prefix;  // backup jobs: the workload's objects live under prefix + "/" + its id
  std::string access_key;
  std::string secret_key;
  // The tenant's own S3 workload of this name, reached by name on the tenant's network.
  std::string workload_name;
  int workload_port = 0;
};

struct RestoreSource {
  S3Target target;  // here `prefix` is where the backup's objects are, whole (no id appended)
  std::string backup_id;
  std::string target_time;  // "YYYY-MM-DD HH:MM:SS+00": recover to then; empty: the backup as taken
  // kVolume: a volume snapshot, extracted into the workload's (empty) volumes; no target_time,
  // no password. Absent in specs stored before snapshots: kPostgres.
  BackupKind kind = BackupKind::kPostgres;
  // The backup passed a verification (restored and read whole): a PostgreSQL restore whose
  // archive matches the recorded sha256 skips the manifest check verify already made
  // (docs/backups.md "Restore"). Absent: false.
  bool verified = false;
};

boost::json::object S3TargetToJson(const S3Target& t);
// Missing members read as empty; false with `err` set if a member has the wrong type or a
// required one (bucket, keys) is absent.
bool S3TargetFromJson(const boost::json::object& o, S3Target& t, std::string& err);

boost::json::object RestoreToJson(const RestoreSource& r);
bool RestoreFromJson(const boost::json::object& o, RestoreSource& r, std::string& err);

}  // namespace lattice::templates
