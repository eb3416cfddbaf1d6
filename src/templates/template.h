// Templates turn a user's deploy request into what a node must run (image, env, command,
// ports, volumes, limits, readiness check) plus the credentials the user connects with.
// `postgres` and `minio` are managed services; `custom` runs any image as asked.
// Pure functions apart from credential generation (CSPRNG); thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "templates/restore_source.h"

namespace lattice::templates {

struct PortRequest {
  int port = 0;
  std::string protocol = "tcp";  // "tcp" or "udp"
  // The edge's idle timeout for this port (seconds); unset: the request's, else the server's.
  std::optional<std::int64_t> idle_timeout_s{};
  // How the prober checks the port through the edge (docs/probes.md): "tcp" (the default: the
  // container accepts) or "http" (GET / is answered with any HTTP status). tcp ports only.
  std::string probe{};
  // Also publish the port on the node's loopback (an engine-chosen host port), for clients on
  // the node itself. Off by default: the agent reaches containers on their own address.
  bool publish = false;
};

// A named volume of a custom workload: its data outlives the container (stop, start, a new
// spec) and is what a volume snapshot saves.
struct VolumeRequest {
  std::string name;  // [a-z0-9][a-z0-9-]{0,31}, unique in the workload; not "secrets"
  std::string path;  // absolute path in the container, unique; not under /run/secrets
};

// What the user asked for (POST /api/v1/workloads), already decoded from JSON.
struct WorkloadRequest {
  std::string name;
  std::string template_name;  // "postgres", "minio" or "custom"
  std::optional<std::string> image;
  std::vector<std::pair<std::string, std::string>> env;  // in the order given
  std::vector<std::string> command;
  std::vector<PortRequest> ports;
  std::optional<std::int64_t> memory_mb;
  std::optional<double> cpus;
  // `security` (custom only): run as this "uid[:gid]" and add back these capabilities. Both
  // must be on the admin's allow-list (admission.h); empty/absent: the defaults.
  std::optional<std::string> user;
  std::vector<std::string> capabilities;
  // Every port's idle timeout unless the port names its own (managed templates: their only
  // way to set it, as they take no `ports`).
  std::optional<std::int64_t> idle_timeout_s;
  std::vector<VolumeRequest> volumes;  // custom only: at most 8
  // Publish every port of the workload on the node's loopback (any template; see PortRequest).
  bool publish = false;
};

// Template images are configuration (`--image postgres=REF`); defaults are the public images.
struct ImageConfig {
  std::string postgres = "postgres:15";
  std::string minio = "minio/minio:latest";
};

// How the agent decides a workload is ready.
struct Readiness {
  enum class Kind { kRunning, kPostgres, kHttp, kTcp };
  Kind kind = Kind::kRunning;  // kRunning: ready as soon as the container runs
  int container_port = 0;
  std::string http_path;  // kHttp: GET must answer 2xx
  // kPostgres: an authenticated connection with these succeeds.
  std::string username, password, database;
};

struct PortSpec {
  // "postgres", "s3", "console", or "port-<n>" for custom ("port-<n>-udp" for a udp port whose
  // number is also exposed as tcp, so names stay unique).
  std::string name;
  int container_port = 0;
  std::string protocol = "tcp";
  std::string scheme;  // URL scheme users connect with: "postgres", "http", "tcp", "udp"
  // Seconds a tunneled connection of this port may carry nothing before the edge closes it;
  // 0 (absent in older specs): the server's --tunnel-idle-timeout.
  int idle_timeout_s = 0;
  // Custom ports: "http" if the user marked the port for an HTTP probe; empty: the template's
  // own check (postgres, minio) or a TCP one.
  std::string probe{};
  // Published on the node's loopback (127.0.0.1, an engine-chosen host port) besides the edge.
  // Only when the user asked: tunnels dial the container on its own network address. UDP
  // ports are always published (the edge carries TCP only). Absent in older specs: false.
  bool publish = false;
};

struct VolumeSpec {
  std::string name;            // suffix; the agent prefixes it with the workload id
  std::string container_path;  // e.g. /var/lib/postgresql/data
};

// How the container is confined beyond what the agent always imposes (every capability
// dropped, no-new-privileges, a pids limit, log rotation; docs/security.md): which capabilities
// the template adds back, the user it runs as, and whether its root filesystem is read-only.
struct Confinement {
  std::vector<std::string> capabilities;  // added back after dropping ALL, e.g. "CHOWN"
  std::string user;                       // "uid[:gid]"; empty: the image's default
  bool read_only_rootfs = false;
  std::vector<std::string> tmpfs;  // absolute paths given a small tmpfs (for a read-only root)
};

// A file the agent writes into the container before it starts (secrets that would otherwise be
// environment variables, visible in `docker inspect`). Mode 0400, owned by root: images read
// them as root before dropping privileges, as the official postgres and minio images do.
struct SecretFile {
  std::string name;     // file name inside kSecretsDir; [a-z0-9_]+
  std::string content;  // the secret
};
inline constexpr char kSecretsDir[] = "/run/secrets";

// The confinement a template gets by default (what rendering uses, and what a stored spec
// written before confinement existed is given when it is assigned). Unknown names: custom's.
Confinement DefaultConfinement(std::string_view template_name);

// What a node must run.
struct RenderedWorkload {
  std::string image;
  std::vector<std::string> env;  // "KEY=value"
  std::vector<std::string> command;
  std::vector<PortSpec> ports;
  std::vector<VolumeSpec> volumes;
  std::int64_t memory_mb = 0;  // 0: no limit
  double cpus = 0;             // 0: no limit
  Readiness readiness;
  // Absent in specs stored before confinement existed: the server fills in the template's
  // DefaultConfinement when it assigns them.
  std::optional<Confinement> confinement;
  std::vector<SecretFile> secret_files;
  // A workload restored from a backup (postgres only): its data volume is filled from the
  // backup before the container first starts (restore_source.h).
  std::optional<RestoreSource> restore;
  // Which set of data volumes the container mounts: 0 for the first, N after the N-th restore in
  // place (each fills new, empty volumes, so the data it replaces stays untouched until the
  // restored workload is ready; the agent then removes the older sets). Absent when 0.
  std::int64_t volume_epoch = 0;
};

// Generated secrets: postgres {username "u"+10 [a-z0-9], password 32 [A-Za-z0-9], database
// "db"+10 [a-z0-9]}; minio {access_key 20 [A-Z0-9], secret_key 40 [A-Za-z0-9]}; custom: none.
using Credentials = std::map<std::string, std::string>;

// Validates every field and reports each bad one (kInvalidArgument with FieldErrors named like
// the JSON: "name", "template", "image", "env.KEY", "command[0]", "ports[1].port" (0-based),
// "resources.memory_mb", "resources.cpus", "idle_timeout_s", "ports[1].idle_timeout_s",
// "ports[1].probe").
// Rules: name is a DNS label (1-63 of [a-z0-9-], starting with a letter, not ending with '-');
// template is one of the three; custom needs an image; image references are well-formed
// (≤ 255 bytes of [A-Za-z0-9._/:@-], starting and ending with a letter or digit); env keys match
// [A-Za-z_][A-Za-z0-9_]* (≤ 128; the field name carries at most 128 bytes of the key), values
// ≤ 32 KiB without NUL, at most 100 entries, no key twice; ports 1-65535, protocol tcp/udp, no
// duplicate port+protocol, at most 20; command ≤ 100 args, each ≤ 32 KiB without NUL;
// memory_mb 16-1048576; cpus 0.01-256; idle_timeout_s (top-level or per port) 10-86400; a port's
// probe is tcp or http, http only on a tcp port.
// Managed templates (postgres, minio): `image` may pin another image; extra env is allowed but
// not the template's own keys (POSTGRES_USER/PASSWORD/DB, MINIO_ROOT_USER/PASSWORD); `ports`
// and `command` are rejected ("is not supported for the postgres template").
// A list over its size limit is reported once, on the list, and its entries are not inspected.
Status Validate(const WorkloadRequest& req);

// Fresh credentials for the template (CSPRNG; URL-safe alphabet so they paste anywhere).
// Empty for custom and for unknown template names.
Credentials GenerateCredentials(const std::string& template_name);
// Credentials as stored (sealed) with the workload: a flat JSON object of strings. Reading
// text that is not such an object gives no credentials.
std::string CredentialsToJson(const Credentials& c);
Credentials CredentialsFromJson(const std::string& text);

// The workload to run. `req` must have passed Validate; `creds` come from GenerateCredentials
// (a missing key renders as ""). Managed templates put their own env first, then the user's.
// Memory when not requested: 512 MB for postgres and minio, 256 MB for custom (every workload
// has a limit the engine enforces, and the quota charges it); cpus: 0.
// Secrets reach the container as files (POSTGRES_PASSWORD_FILE, MINIO_ROOT_USER_FILE and
// MINIO_ROOT_PASSWORD_FILE name files in kSecretsDir), never as environment values.
// Each port's idle_timeout_s is its own, else the request's top-level one, else 0.
// Readiness: postgres kPostgres on 5432; minio kHttp GET /minio/health/ready on 9000; custom
// kRunning (not every image listens on a port).
RenderedWorkload Render(const WorkloadRequest& req, const Credentials& creds,
                        const ImageConfig& images);

// The request that renders like `spec` did for a workload of `template_name`, less what the
// template generates (credentials, its own env): the user's env, and for custom the image's
// command, ports (with their idle timeouts), user, added capabilities and volumes. Used to
// create a workload like another one (a restore from its volume snapshot). `name` is empty.
WorkloadRequest RequestOf(std::string_view template_name, const RenderedWorkload& spec);

// What users paste: postgres → connection_string "postgres://user:pass@host:port/db";
// minio → endpoint "http://host:port" (the S3 port). Empty map for custom. Userinfo and
// database are percent-encoded where needed; an IPv6 literal host is bracketed.
std::map<std::string, std::string> ConnectionDetails(const std::string& template_name,
                                                     const Credentials& creds,
                                                     const std::string& host, int port);

}  // namespace lattice::templates
