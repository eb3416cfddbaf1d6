// The agent link protocol: small typed JSON messages over one WebSocket per agent, dialled by
// the agent (so nodes behind NAT work). docs/agent-link.md describes the exchange.
//
//   agent → server  hello      first message: identity, capacity, what it already runs
//   server → agent  welcome    node id (+ node secret on first join), heartbeat interval
//   server → agent  error      fatal: why the link is refused; the server then closes
//   server → agent  assignments  the node's full desired state (sent after welcome)
//   server → agent  upsert / remove   deltas as desired state changes
//   agent → server  status     observed state of one workload for one generation (idempotent)
//   agent → server  heartbeat  liveness
//   server → agent  logs.open / logs.close;  agent → server  logs.data / logs.end
//   server → agent  stream.open  carry one outside connection of a public port: dial the edge
//                                with the one-time secret (tunnel/handshake.h) and relay
//   agent → server  stream.fail  the stream could not be opened (the edge closes the client)
//   server → agent  backup.run   run one backup job of a workload (back up, verify, delete)
//   agent → server  backup.result  how that job ended (exactly one per backup.run received)
//   agent → server  metrics    one sampling interval's resource usage: the node's totals and
//                              each running workload's (docs/metrics.md)
//
// States travel as their names (common/states.h), converted only here: a state name this build
// does not know makes that message undecodable. Decode never throws: any malformed input is a
// kInvalidArgument. Pure; thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/result.h"
#include "common/states.h"
#include "templates/template.h"

namespace lattice::link {

inline constexpr int kProtocolVersion = 2;  // 2: tunnels (stream.*)
inline constexpr std::size_t kMaxMessageBytes = 4 << 20;

// A container the agent found already there at connect time.
struct RunningWorkload {
  std::string workload_id;
  std::int64_t generation = 0;
  WorkloadStatus state = WorkloadStatus::kRunning;  // kRunning or kStopped
};

struct Hello {
  int protocol = kProtocolVersion;
  std::string join_token;   // first join only
  std::string node_id;      // reconnects: the identity issued at join
  std::string node_secret;  // reconnects
  std::string name;
  int cpus = 0;
  std::int64_t memory_mb = 0;
  std::int64_t disk_mb = 0;
  std::map<std::string, std::string> labels;
  std::string agent_version;
  std::string address;  // host where this node's published ports are reachable
  std::vector<RunningWorkload> running;
};

struct Welcome {
  std::string node_id;
  std::string node_secret;  // set only when the node has just joined: persist it
  int heartbeat_seconds = 5;
  // Every live server replica's agent URL (https://HOST:PORT), this one included: where to dial
  // if this one goes away. Empty for a single server. Optional on the wire.
  std::vector<std::string> servers;
  // Registries the administrator allowed by name (templates::AdmissionPolicy). The agent refuses
  // to pull from a registry that resolves to the node's own or loopback addresses unless it is
  // one of these. Optional on the wire.
  std::vector<std::string> registries;
};

// Why the server refused a link. Agents branch on the code, never on the message (which is for
// people). Unknown codes from a newer server read as kUnspecified.
enum class LinkErrorCode {
  kUnspecified,      // transient or unknown: retry
  kUnauthenticated,  // bad join token, unknown node, wrong node secret
  kIncompatible,     // the two sides speak different protocol versions
  kInvalid,          // the agent sent something malformed
  kUnavailable,      // the server cannot serve the link now (its store, say)
};
// "unauthenticated", "incompatible", "invalid", "unavailable"; "" for kUnspecified.
std::string_view LinkErrorCodeName(LinkErrorCode code);

struct LinkError {
  std::string message;
  LinkErrorCode code = LinkErrorCode::kUnspecified;
};

// One workload as the node must run it.
struct Assignment {
  std::string workload_id;
  std::int64_t generation = 0;
  DesiredState desired_state = DesiredState::kRunning;
  templates::RenderedWorkload spec;
  // The tenant whose private network the container joins (its owner's id today), and the name
  // its siblings on that network reach it by. Optional on the wire: empty means the default.
  std::string tenant;
  std::string name;
};

struct Assignments {
  std::vector<Assignment> items;
};
struct Upsert {
  Assignment assignment;
};
struct Remove {
  std::string workload_id;
};

struct PortBindingReport {
  int container_port = 0;
  int host_port = 0;
};

struct StatusReport {
  std::string workload_id;
  std::int64_t generation = 0;
  // What the agent sends: creating, starting, running, stopped, failed or deleted.
  WorkloadStatus state = WorkloadStatus::kCreating;
  std::string reason;  // short and safe to show the workload's owner
  std::vector<PortBindingReport> bindings;
  // The engine's own words behind `reason` (for the server's log and administrators only; may
  // name hosts and addresses). Optional on the wire.
  std::string detail;
};

struct Heartbeat {
  int running = 0;  // containers running
};

// A read of a workload's logs as the node keeps them (docs/logs.md). The bounds after `follow`
// are optional on the wire (absent or 0 / empty: none); an agent older than them ignores them.
struct LogsOpen {
  std::string stream_id;
  std::string workload_id;
  int tail = 100;  // the newest `tail` lines that match; 0: none (a follow then sends new ones)
  bool follow = false;
  std::int64_t since_ns = 0;    // lines written at or after (ns since the epoch)
  std::int64_t until_ns = 0;    // lines written before
  std::int64_t before_seq = 0;  // lines kept before this one (paging back)
  std::int64_t generation = 0;  // lines of this container generation only
  std::string filter{};         // lines containing this text (ASCII letters without case)
};
inline constexpr std::size_t kMaxLogFilterBytes = 256;
// Lines of a stream, oldest first. `seqs`, `generations` and `times_ns` are optional on the wire
// (an older agent sends none); when present each has one entry per line: the line's number in
// the workload's kept log, its container generation, and the engine's time of it.
struct LogsData {
  std::string stream_id;
  std::vector<std::string> lines;
  std::vector<std::int64_t> seqs{};
  std::vector<std::int64_t> generations{};
  std::vector<std::int64_t> times_ns{};
};
struct LogsEnd {
  std::string stream_id;
  std::string error;  // empty: the stream ended normally
  bool more = false;  // older lines match too: read again with before_seq = the first seq sent
};
struct LogsClose {
  std::string stream_id;
};

struct StreamOpen {
  std::string stream_id;  // "st_…"
  std::string secret;     // one-time; presented on the data connection
  std::string workload_id;
  int container_port = 0;  // which exposed port of the workload
  std::string edge_url;    // where to dial; empty: the server the link goes to
  // The port's idle timeout, which the agent's end of the relay keeps too; 0 (or absent, from
  // an older server): the agent's own default.
  std::int64_t idle_timeout_ms = 0;
};
struct StreamFail {
  std::string stream_id;
  std::string reason;
};

// Where a backup job reads and writes: one S3 bucket (templates/restore_source.h).
using BackupTargetSpec = templates::S3Target;

// kProbe checks a target (writes, reads back and deletes an object under its prefix) from the
// network namespace of `workload_id`, any of the owner's workloads on the node; its
// `backup_id` is the target's id.
enum class BackupOp { kBackup, kVerify, kDelete, kProbe };
std::string_view Name(BackupOp op);

struct BackupRun {
  std::string job_id;  // unique per run; echoed by the result
  BackupOp op = BackupOp::kBackup;
  std::string workload_id;
  std::string backup_id;  // the backup to take, verify or delete
  BackupTargetSpec target;
  // kPostgres: pg_basebackup beside the database; kVolume: a snapshot of the workload's volumes
  // (running or stopped). Absent on the wire from older servers: kPostgres.
  BackupKind kind = BackupKind::kPostgres;
};

struct BackupResult {
  std::string job_id;
  BackupOp op = BackupOp::kBackup;
  std::string workload_id;
  std::string backup_id;
  bool ok = false;
  std::string error_code;  // the tool's machine-readable cause ("target-auth", …) when !ok
  std::string message;     // for the workload's owner
  std::int64_t size_bytes = 0;
  std::int64_t duration_ms = 0;
  std::string start_lsn;
  std::string end_lsn;
  std::int64_t tables = 0;  // verify: user tables read
  std::int64_t rows = 0;    // verify: rows counted over them
  std::int64_t files = 0;   // volume snapshots: files in the snapshot (backup and verify)
};

// Server → agent: continuous WAL archiving of a PostgreSQL workload on this node (its backup
// policy's target), or none any more (nullopt: stop the archiver and drop its replication slot).
// Sent when a policy is set or removed, and for every policy of the node's workloads when its
// agent connects; the agent keeps the latest per workload.
struct ArchiveSet {
  std::string workload_id;
  std::optional<BackupTargetSpec> target;  // the prefix as for backup jobs (+ "/" + workload id)
};

// Agent → server: how a workload's continuous WAL archiving is doing, sent when it changes —
// archiving (its archiver has run for a minute), or failing (it exited; the tool's error code
// and reason) — and again after every ArchiveSet, so a reconnected server learns it anew.
struct ArchiveStatus {
  std::string workload_id;
  bool ok = false;
  std::string error_code;  // !ok: the tool's code ("target-auth", …) or "archiver-exited"
  std::string message;     // !ok: for the workload's owner
};

// One reading of resource usage over the sampling interval that ended at `at`: CPU as a percent
// of one core (200 = two cores busy), memory in use and its limit (a node: its total), and
// throughputs in bytes per second over the interval.
// Bounds of a sample's values on the link (larger is refused); the decoder rounds CPU to
// thousandths of a percent and the byte values to whole bytes.
inline constexpr double kMaxUsageCpuPercent = 1e6;            // 10,000 cores
inline constexpr double kMaxUsageBytes = 9007199254740992.0;  // 2^53
struct UsageSample {
  std::int64_t at = 0;  // the agent's clock, Unix seconds
  double cpu_percent = 0;
  double memory_bytes = 0;
  double memory_limit_bytes = 0;
  double net_rx_bps = 0;
  double net_tx_bps = 0;
  double disk_read_bps = 0;
  double disk_write_bps = 0;
};

struct WorkloadUsage {
  std::string workload_id;
  UsageSample usage;
};

// Agent → server: what one or more sampling intervals measured (a batch: sent every interval;
// those a link drop held back follow after the reconnect). `sent_at` is the agent's clock when
// the message was written, so the server can correct the samples' times for the skew between
// the two clocks. Decoding refuses non-finite or negative numbers and more than kMaxUsageSamples.
struct MetricsBatch {
  std::int64_t sent_at = 0;
  int interval_seconds = 0;
  std::vector<UsageSample> node;  // the node's totals (docs/metrics.md says what they count)
  std::vector<WorkloadUsage> workloads;
};
inline constexpr std::size_t kMaxUsageSamples = 20000;

using Message =
    std::variant<Hello, Welcome, LinkError, Assignments, Upsert, Remove, StatusReport, Heartbeat,
                 LogsOpen, LogsData, LogsEnd, LogsClose, StreamOpen, StreamFail, BackupRun,
                 BackupResult, ArchiveSet, ArchiveStatus, MetricsBatch>;

std::string Encode(const Message& m);
Result<Message> Decode(std::string_view text);

// The rendered workload as JSON (also how the server seals it at rest).
std::string EncodeSpec(const templates::RenderedWorkload& spec);
Result<templates::RenderedWorkload> DecodeSpec(std::string_view text);

}  // namespace lattice::link
