// Records the store persists. Plain data, no behaviour.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/states.h"

namespace lattice::store {

struct User {
  std::string id;
  std::string email;          // normalised: trimmed, lower-case
  std::string password_hash;  // argon2id, libsodium's encoded form
  std::string role;           // "admin" or "user"
  std::int64_t created_at = 0;
  std::int64_t password_changed_at = 0;
};

// A sign-in session. The bearer token names it by `id`; only a hash of the token's secret is
// stored, so a copy of the database does not yield usable tokens.
struct Session {
  std::string id;
  std::string user_id;
  std::string secret_hash;  // hex SHA-256 of the token's secret part
  std::int64_t created_at = 0;
  std::int64_t expires_at = 0;
  std::optional<std::int64_t> revoked_at;
  std::string created_from;  // client address at sign-in
};

// A session together with its user: what every authenticated request needs, in one lookup.
struct SessionWithUser {
  Session session;
  User user;
};

}  // namespace lattice::store

namespace lattice::store {

// A machine running the agent.
struct Node {
  std::string id;
  std::string name;
  int cpus = 0;
  std::int64_t memory_mb = 0;
  std::int64_t disk_mb = 0;
  std::string labels_json = "{}";  // {"key": "value"}
  NodeStatus status = NodeStatus::kDown;
  std::int64_t last_heartbeat = 0;
  std::string agent_version;
  std::string address;      // host users reach the node's published ports at (pre-tunnels)
  std::string secret_hash;  // hex SHA-256 of the node's credential (issued at join)
  std::int64_t created_at = 0;
  std::string link_replica;     // the server replica holding its agent link; "" if none
  std::int64_t down_since = 0;  // when its link was last lost (0: never, or unknown)
};

// A running server process (replica). Each refreshes its row every few seconds.
struct Replica {
  std::string id;
  std::string url;  // where agents reach it (its advertise URL)
  std::int64_t seen_at = 0;
};

// A single-use, expiring invitation for a node to join. Only the token's hash is stored.
struct JoinToken {
  std::string id;
  std::string token_hash;
  std::string created_by;  // user id
  std::int64_t created_at = 0;
  std::int64_t expires_at = 0;
  std::optional<std::int64_t> used_at;
  std::string node_id;  // set once used
};

// A user's workload: desired state (what the user asked for, with a generation that grows on
// every change) and observed state (what the node last reported, for which generation).
struct Workload {
  std::string id;
  std::string owner_id;
  std::string name;
  std::string template_name;
  std::string image;
  std::string spec_enc;           // sealed JSON of the rendered container spec (holds secrets)
  std::string credentials_enc;    // sealed JSON of the generated credentials
  std::string ports_json = "[]";  // [{name, container_port, protocol, scheme, idle_timeout_s?}]
  std::int64_t memory_mb = 0;
  double cpus = 0;
  DesiredState desired_state = DesiredState::kRunning;
  std::int64_t generation = 1;
  WorkloadStatus status = WorkloadStatus::kPending;
  std::string status_reason;
  std::int64_t observed_generation = 0;
  std::string node_id;               // empty until scheduled
  std::string bindings_json = "[]";  // observed [{container_port, host_port}]
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;
};

// A port of the edge's public range, held by one exposed port of one workload for as long as
// the workload exists (stop/start, restarts and reconnects keep it).
struct PublicPort {
  int port = 0;
  std::string workload_id;
  int container_port = 0;
};

struct WorkloadEvent {
  std::int64_t id = 0;
  std::string workload_id;
  std::int64_t at = 0;
  WorkloadStatus status = WorkloadStatus::kPending;
  std::string message;
};

struct WorkloadFilter {
  std::optional<std::string> owner_id;
  std::optional<std::string> node_id;
  std::optional<WorkloadStatus> status;
};

}  // namespace lattice::store

namespace lattice::store {

// Who may create an account (--registration). Whatever the policy, the first account of a
// server (its admin) may always be created while no user exists.
enum class Registration { kOpen, kInvite, kClosed };

// How a sign-up is admitted, checked by the store atomically with creating the user.
struct Admission {
  Registration policy = Registration::kOpen;
  std::string invite_hash;  // kInvite: hex SHA-256 of the code the user gave ("" if none)
  std::int64_t now = 0;     // invites that expired before this are refused
};

// A single-use, expiring invitation for a person to sign up. Only the code's hash is stored.
struct Invite {
  std::string id;
  std::string code_hash;
  std::string note;        // what the admin wrote down (who it is for)
  std::string created_by;  // user id
  std::int64_t created_at = 0;
  std::int64_t expires_at = 0;
  std::optional<std::int64_t> used_at;
  std::string used_by;  // user id, once used
  // Filled in by ListInvites (the accounts' current emails; "" if unknown).
  std::string created_by_email;
  std::string used_by_email;
};

// One entry of the audit trail: who did what, to what, when, from where, and how it ended.
// Never holds a secret (no password, token or invite code).
struct AuditEvent {
  std::int64_t id = 0;  // assigned by the store; grows with every event
  std::int64_t at = 0;
  std::string actor_id;     // user id; "" for an anonymous caller
  std::string actor_email;  // "" for an anonymous caller
  std::string action;       // e.g. "auth.login", "workload.create"
  std::string target;       // id of what was acted on ("" if nothing)
  std::string client_address;
  std::string outcome;  // "success" or "failure"
  std::string detail;   // why it failed, or other context
};

// Per-user limits on workloads that are not deleted (running or stopped). 0 means no limit.
// Workloads without a memory or CPU limit count as `unset_memory_mb` / `unset_cpus`.
struct Quota {
  std::int64_t max_workloads = 0;
  std::int64_t max_memory_mb = 0;
  double max_cpus = 0;
  std::int64_t unset_memory_mb = 256;  // the scheduler's default request
  double unset_cpus = 1;
};

// What a user's workloads (or one workload) count against a Quota.
struct QuotaUse {
  std::int64_t workloads = 0;
  std::int64_t memory_mb = 0;
  double cpus = 0;
};

}  // namespace lattice::store
