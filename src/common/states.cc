#include "common/states.h"

#include <array>
#include <utility>

namespace lattice {
namespace {

template <typename E, std::size_t N>
std::optional<E> Find(const std::array<std::pair<E, std::string_view>, N>& table,
                      std::string_view name) {
  for (const auto& [value, text] : table)
    if (text == name) return value;
  return std::nullopt;
}

template <typename E, std::size_t N>
std::string_view NameIn(const std::array<std::pair<E, std::string_view>, N>& table, E value) {
  for (const auto& [v, text] : table)
    if (v == value) return text;
  return "unknown";
}

constexpr std::array<std::pair<DesiredState, std::string_view>, 3> kDesired{{
    {DesiredState::kRunning, "running"},
    {DesiredState::kStopped, "stopped"},
    {DesiredState::kDeleted, "deleted"},
}};

constexpr std::array<std::pair<WorkloadStatus, std::string_view>, 10> kWorkload{{
    {WorkloadStatus::kPending, "pending"},
    {WorkloadStatus::kScheduled, "scheduled"},
    {WorkloadStatus::kCreating, "creating"},
    {WorkloadStatus::kStarting, "starting"},
    {WorkloadStatus::kRunning, "running"},
    {WorkloadStatus::kStopped, "stopped"},
    {WorkloadStatus::kFailed, "failed"},
    {WorkloadStatus::kLost, "lost"},
    {WorkloadStatus::kDeleting, "deleting"},
    {WorkloadStatus::kDeleted, "deleted"},
}};

constexpr std::array<std::pair<NodeStatus, std::string_view>, 3> kNode{{
    {NodeStatus::kReady, "ready"},
    {NodeStatus::kDown, "down"},
    {NodeStatus::kDraining, "draining"},
}};

constexpr std::array<std::pair<BackupStatus, std::string_view>, 3> kBackup{{
    {BackupStatus::kRunning, "running"},
    {BackupStatus::kSucceeded, "succeeded"},
    {BackupStatus::kFailed, "failed"},
}};

constexpr std::array<std::pair<VerifyStatus, std::string_view>, 4> kVerify{{
    {VerifyStatus::kPending, "pending"},
    {VerifyStatus::kVerified, "verified"},
    {VerifyStatus::kFailed, "failed"},
    {VerifyStatus::kSkipped, "skipped"},
}};

constexpr std::array<std::pair<ProbeStatus, std::string_view>, 4> kProbe{{
    {ProbeStatus::kUntested, "untested"},
    {ProbeStatus::kPending, "pending"},
    {ProbeStatus::kPassed, "passed"},
    {ProbeStatus::kFailed, "failed"},
}};

constexpr std::array<std::pair<ArchiveState, std::string_view>, 3> kArchive{{
    {ArchiveState::kUnknown, "unknown"},
    {ArchiveState::kArchiving, "archiving"},
    {ArchiveState::kFailing, "failing"},
}};
constexpr std::array<std::pair<EndpointState, std::string_view>, 3> kEndpoint{{
    {EndpointState::kUnknown, "unknown"},
    {EndpointState::kReachable, "reachable"},
    {EndpointState::kUnreachable, "unreachable"},
}};

constexpr std::array<std::pair<BackupKind, std::string_view>, 2> kKind{{
    {BackupKind::kPostgres, "postgres"},
    {BackupKind::kVolume, "volume"},
}};

}  // namespace

std::string_view Name(DesiredState s) {
  return NameIn(kDesired, s);
}
std::string_view Name(WorkloadStatus s) {
  return NameIn(kWorkload, s);
}
std::string_view Name(NodeStatus s) {
  return NameIn(kNode, s);
}

std::string_view Name(BackupStatus s) {
  return NameIn(kBackup, s);
}
std::string_view Name(VerifyStatus s) {
  return NameIn(kVerify, s);
}
std::string_view Name(ProbeStatus s) {
  return NameIn(kProbe, s);
}
std::string_view Name(ArchiveState s) {
  return NameIn(kArchive, s);
}
std::string_view Name(EndpointState s) {
  return NameIn(kEndpoint, s);
}
std::string_view Name(BackupKind k) {
  return NameIn(kKind, k);
}

std::optional<DesiredState> ParseDesiredState(std::string_view n) {
  return Find(kDesired, n);
}
std::optional<WorkloadStatus> ParseWorkloadStatus(std::string_view n) {
  return Find(kWorkload, n);
}
std::optional<NodeStatus> ParseNodeStatus(std::string_view n) {
  return Find(kNode, n);
}

std::optional<BackupStatus> ParseBackupStatus(std::string_view n) {
  return Find(kBackup, n);
}
std::optional<VerifyStatus> ParseVerifyStatus(std::string_view n) {
  return Find(kVerify, n);
}
std::optional<ProbeStatus> ParseProbeStatus(std::string_view n) {
  return Find(kProbe, n);
}
std::optional<ArchiveState> ParseArchiveState(std::string_view n) {
  return Find(kArchive, n);
}
std::optional<EndpointState> ParseEndpointState(std::string_view n) {
  return Find(kEndpoint, n);
}

std::optional<BackupKind> ParseBackupKind(std::string_view n) {
  return Find(kKind, n);
}
std::optional<BackupKind> BackupKindOf(std::string_view template_name) {
  if (template_name == "postgres") return BackupKind::kPostgres;
  if (template_name == "minio" || template_name == "custom") return BackupKind::kVolume;
  return std::nullopt;
}

}  // namespace lattice
