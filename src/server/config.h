// ServerConfig: every setting of `lattice server`, after flags, environment and config file
// have been merged (src/main/ does the merging; lattice.example.toml documents each one).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "store/models.h"
#include "templates/admission.h"
#include "templates/template.h"

namespace lattice::server {

struct ServerConfig {
  std::string listen = "127.0.0.1:8080";  // HOST:PORT; port 0 picks a free one
  std::string data_dir = "./data";
  // "" or "sqlite": data_dir/lattice.db; or postgres://… (may hold a password: never log it).
  std::string database;
  std::vector<std::string> cors_origins;  // browser origins allowed to call the API
  std::size_t body_limit = 1 << 20;       // bytes
  int header_timeout_seconds = 10;
  int body_timeout_seconds = 30;
  int idle_timeout_seconds = 60;
  std::int64_t session_ttl_seconds = 7 * 24 * 3600;
  int io_threads = 0;  // 0: one per core
  // A request that needs the store and cannot start on the store executor within this many
  // seconds (every store thread busy: the database is saturated or frozen) answers 503.
  double store_wait_seconds = 2;
  // PostgreSQL: seconds one round trip may take before the call fails (503); see StoreOptions.
  double store_timeout_seconds = 20;
  bool access_log = true;
  std::string log_level = "info";

  // Nodes and workloads.
  std::vector<std::string> images;  // "postgres=REF", "minio=REF": template images
  std::string advertise_url;        // how agents reach this server; default from --listen
  int heartbeat_seconds = 5;
  int lost_grace_seconds = 30;       // a silent node's workloads become `lost` after this
  int replica_timeout_seconds = 10;  // a replica silent this long is gone (PostgreSQL only)
  int join_token_ttl_seconds = 3600;

  // The edge (tunnels to workloads).
  std::string public_host;  // what users connect to; default: advertise-URL or listen host
  std::string public_bind;  // where public listeners bind; default: the listen host
  std::string public_ports = "20000-20999";  // LOW-HIGH handed out to exposed ports
  // A stream with no traffic either way is closed after this, unless its port sets its own
  // (`idle_timeout_s`). 15 min: abandoned connections free their slots soon.
  int tunnel_idle_timeout_seconds = 900;
  int tunnel_max_streams = 512;               // concurrent streams per workload
  int tunnel_source_max_streams = 64;         // ... per client address and workload
  int tunnel_source_max_streams_total = 256;  // ... per client address, all workloads
  // Seconds between outside-in probes of every public endpoint (docs/probes.md).
  int probe_interval_seconds = 30;

  // Who may use the server.
  std::string registration = "invite";       // open | invite | closed; `lattice dev`: open
  std::vector<std::string> trusted_proxies;  // IPs/CIDRs whose X-Forwarded-For is believed
  int signups_per_address_per_hour = 20;     // 0: no limit
  // Concurrent long-lived responses per user (the (N+1)th gets 429).
  int max_event_streams_per_user = 8;
  int max_followed_logs_per_user = 8;
  // Per-user quotas on workloads that are not deleted; 0 means no limit.
  std::int64_t quota_workloads = 20;
  std::int64_t quota_memory_mb = 16384;
  double quota_cpus = 16;

  // Admission (templates::AdmissionPolicy, docs/security.md): what workloads may ask for.
  std::vector<std::string> allowed_registries = templates::AdmissionPolicy{}.registries;
  std::vector<std::string> allowed_images;  // prefixes of normalised references; empty: any
  std::vector<std::string> allowed_capabilities = templates::AdmissionPolicy{}.capabilities;
  std::string allowed_uids = "1-2147483647";

  // Notifications (docs/notifications.md).
  std::string smtp_url;  // smtp://HOST:PORT or smtps://HOST:PORT; empty: no e-mail channels
  std::string smtp_from;
  std::string smtp_user;
  std::string smtp_password;  // never logged
  int notify_max_attempts = 5;
  int notify_retry_base_seconds = 30;  // then doubling: 30 s, 1 min, 2 min, 4 min
};

// The admission policy the settings describe. kInvalidArgument for an unknown capability, one
// no allow-list may hold (SYS_ADMIN and the like), a malformed uid range or an empty registry.
Result<templates::AdmissionPolicy> AdmissionPolicyFrom(const ServerConfig& config);

// Parses "LOW-HIGH" (1024 <= LOW <= HIGH <= 65535). kInvalidArgument names the problem.
Status ParsePortRange(const std::string& text, int& low, int& high);

// "open", "invite" or "closed"; kInvalidArgument otherwise.
Result<store::Registration> ParseRegistration(const std::string& mode);

// Applies "template=REF" overrides to `images`. kInvalidArgument names the bad entry.
Status ApplyImageOverrides(const std::vector<std::string>& overrides,
                           templates::ImageConfig& images);

// Splits "HOST:PORT" ("[::1]:80" for IPv6). Returns false if malformed.
bool ParseListen(const std::string& listen, std::string& host, std::uint16_t& port);

}  // namespace lattice::server
