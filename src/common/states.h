// The typed states of the core: what a user asked a workload to be (DesiredState), what it was
// last observed to be (WorkloadStatus), and whether a node can take work (NodeStatus). Code
// compares these enums; their names ("running", "pending", …) exist only at the codecs: the
// SQL rows, the API's JSON and the agent link. Parse* answer nullopt for a name this build does
// not know. BackupStatus and VerifyStatus are a backup's run and its proof (issue 19).
// Pure; thread-safe.
#pragma once

#include <optional>
#include <string_view>

namespace lattice {

enum class DesiredState { kRunning, kStopped, kDeleted };

enum class WorkloadStatus {
  kPending,    // not placed yet (the reason says why, if it waits)
  kScheduled,  // placed; the node has not reported on this generation yet
  kCreating,   // the node is pulling / creating the container
  kStarting,   // started, readiness not yet passed
  kRunning,    // ready
  kStopped,
  kFailed,    // the reason says what failed; the node retries with backoff
  kLost,      // its node has been gone longer than the grace period
  kDeleting,  // delete requested; the node removes container and volumes
  kDeleted,   // reported by the node once everything is gone (never stored)
};

enum class NodeStatus { kReady, kDown, kDraining };

// A backup's run (issue 19): started on its node, then succeeded or failed, never back.
enum class BackupStatus { kRunning, kSucceeded, kFailed };
// Whether a succeeded backup has been proven to restore: pending until the node has restored
// it into a throw-away container and read every table; skipped when the policy says so.
enum class VerifyStatus { kPending, kVerified, kFailed, kSkipped };

// Whether a backup target was shown to work: a node wrote, read back and deleted a probe
// object with its keys. Untested when no node could try (nothing of the owner's runs).
enum class ProbeStatus { kUntested, kPending, kPassed, kFailed };
// How a database's continuous WAL archiving is doing, as its node last said: unknown until it
// says, archiving once its archiver has run a while, failing when it exited (with the reason).
enum class ArchiveState { kUnknown, kArchiving, kFailing };
// Whether a public endpoint answered its last outside-in probe (docs/probes.md): unknown until
// probed, and again once its workload is not meant to run.
enum class EndpointState { kUnknown, kReachable, kUnreachable };

// What a backup is, decided by its workload's template (BackupKindOf): a PostgreSQL base
// backup ("postgres": pg_basebackup + WAL, point-in-time recovery) or a volume snapshot
// ("volume": a tar + zstd of the workload's volumes; S3 and custom workloads).
enum class BackupKind { kPostgres, kVolume };

std::string_view Name(DesiredState s);
std::string_view Name(WorkloadStatus s);
std::string_view Name(NodeStatus s);
std::string_view Name(BackupStatus s);
std::string_view Name(VerifyStatus s);
std::string_view Name(ProbeStatus s);
std::string_view Name(ArchiveState s);
std::string_view Name(EndpointState s);
std::string_view Name(BackupKind k);

std::optional<DesiredState> ParseDesiredState(std::string_view name);
std::optional<WorkloadStatus> ParseWorkloadStatus(std::string_view name);
std::optional<NodeStatus> ParseNodeStatus(std::string_view name);
std::optional<BackupStatus> ParseBackupStatus(std::string_view name);
std::optional<VerifyStatus> ParseVerifyStatus(std::string_view name);
std::optional<ProbeStatus> ParseProbeStatus(std::string_view name);
std::optional<ArchiveState> ParseArchiveState(std::string_view name);
std::optional<EndpointState> ParseEndpointState(std::string_view name);
std::optional<BackupKind> ParseBackupKind(std::string_view name);
// The kind of backup a workload of `template_name` gets: postgres → kPostgres, minio and custom
// → kVolume; nullopt for a template this build does not know.
std::optional<BackupKind> BackupKindOf(std::string_view template_name);

}  // namespace lattice
