// Render(): the container spec for each template. Managed templates put their own env first,
// then the user's extra env in the order given (Validate has rejected overrides).

#include <algorithm>
#include <set>
#include <string>

#include "templates/builtin.h"
#include "templates/template.h"

namespace lattice::templates {
namespace {

// "KEY=/run/secrets/<file>".
std::string SecretEnv(const std::string& key, const std::string& file) {
  return key + "=" + kSecretsDir + "/" + file;
}

void AppendUserEnv(const WorkloadRequest& req, RenderedWorkload& out) {
  for (const auto& [key, value] : req.env) out.env.push_back(key + "=" + value);
}

RenderedWorkload RenderPostgres(const WorkloadRequest& req, const Credentials& creds,
                                const ImageConfig& images) {
  RenderedWorkload out;
  out.image = req.image.value_or(images.postgres);
  const std::string user = builtin::Credential(creds, "username");
  const std::string password = builtin::Credential(creds, "password");
  const std::string database = builtin::Credential(creds, "database");
  out.env = {"POSTGRES_USER=" + user, SecretEnv("POSTGRES_PASSWORD_FILE", "postgres_password"),
             "POSTGRES_DB=" + database};
  out.secret_files = {{"postgres_password", password}};
  AppendUserEnv(req, out);
  out.ports = {{"postgres", builtin::kPostgresPort, "tcp", "postgres"}};
  out.volumes = {{"data", "/var/lib/postgresql/data"}};
  out.memory_mb = req.memory_mb.value_or(builtin::kManagedDefaultMemoryMb);
  out.cpus = req.cpus.value_or(0);
  out.readiness.kind = Readiness::Kind::kPostgres;
  out.readiness.container_port = builtin::kPostgresPort;
  out.readiness.username = user;
  out.readiness.password = password;
  out.readiness.database = database;
  out.confinement = DefaultConfinement(builtin::kPostgres);
  return out;
}

RenderedWorkload RenderMinio(const WorkloadRequest& req, const Credentials& creds,
                             const ImageConfig& images) {
  RenderedWorkload out;
  out.image = req.image.value_or(images.minio);
  out.env = {SecretEnv("MINIO_ROOT_USER_FILE", "minio_root_user"),
             SecretEnv("MINIO_ROOT_PASSWORD_FILE", "minio_root_password")};
  out.secret_files = {{"minio_root_user", builtin::Credential(creds, "access_key")},
                      {"minio_root_password", builtin::Credential(creds, "secret_key")}};
  AppendUserEnv(req, out);
  out.command = {"server", "/data", "--console-address", ":9001"};
  out.ports = {{"s3", builtin::kMinioS3Port, "tcp", "http"},
               {"console", builtin::kMinioConsolePort, "tcp", "http"}};
  out.volumes = {{"data", "/data"}};
  out.memory_mb = req.memory_mb.value_or(builtin::kManagedDefaultMemoryMb);
  out.cpus = req.cpus.value_or(0);
  out.readiness.kind = Readiness::Kind::kHttp;
  out.readiness.container_port = builtin::kMinioS3Port;
  out.readiness.http_path = "/minio/health/ready";
  out.confinement = DefaultConfinement(builtin::kMinio);
  return out;
}

// Ports are named "port-<n>"; a udp port whose number is also used by tcp is "port-<n>-udp"
// so names stay unique. Readiness is kRunning: not every image listens on a port.
RenderedWorkload RenderCustom(const WorkloadRequest& req) {
  RenderedWorkload out;
  out.image = req.image.value_or("");
  AppendUserEnv(req, out);
  out.command = req.command;
  std::set<int> tcp_ports;
  for (const PortRequest& p : req.ports)
    if (p.protocol == "tcp") tcp_ports.insert(p.port);
  for (const PortRequest& p : req.ports) {
    std::string name = "port-" + std::to_string(p.port);
    if (p.protocol == "udp" && tcp_ports.contains(p.port)) name += "-udp";
    out.ports.push_back({std::move(name), p.port, p.protocol, p.protocol, 0,
                         p.probe == "http" ? "http" : "", p.publish});
  }
  for (const VolumeRequest& v : req.volumes) out.volumes.push_back({v.name, v.path});
  out.memory_mb = req.memory_mb.value_or(builtin::kCustomDefaultMemoryMb);
  out.cpus = req.cpus.value_or(0);
  out.readiness.kind = Readiness::Kind::kRunning;
  Confinement c = DefaultConfinement(builtin::kCustom);
  for (const std::string& cap : req.capabilities)
    if (std::find(c.capabilities.begin(), c.capabilities.end(), cap) == c.capabilities.end())
      c.capabilities.push_back(cap);
  c.user = req.user.value_or("");
  out.confinement = std::move(c);
  return out;
}

// Each port's idle timeout: its own (custom ports, in order), else the request's, else 0.
void ApplyIdleTimeouts(const WorkloadRequest& req, RenderedWorkload& out) {
  for (std::size_t i = 0; i < out.ports.size(); ++i) {
    const auto own = i < req.ports.size() ? req.ports[i].idle_timeout_s : std::nullopt;
    out.ports[i].idle_timeout_s = static_cast<int>(own.value_or(req.idle_timeout_s.value_or(0)));
  }
}

// The request's `publish` publishes every port; a custom port may ask on its own.
void ApplyPublish(const WorkloadRequest& req, RenderedWorkload& out) {
  if (!req.publish) return;
  for (PortSpec& p : out.ports) p.publish = true;
}

}  // namespace

// The capabilities each template adds back after the agent drops them all (docs/security.md):
//  - postgres: the entry point runs as root to fix the data directory's owner and mode
//    (CHOWN, FOWNER, DAC_OVERRIDE), then drops to the postgres user (SETUID, SETGID). Its root
//    filesystem is read-only; the socket directory and /tmp are tmpfs.
//  - minio: nothing (it listens above 1024 and owns its volume). Read-only root; tmpfs /tmp and
//    /root/.minio (where MinIO creates its certs directory at start).
//  - custom: NET_BIND_SERVICE only, as Kubernetes' "restricted" profile allows; anything more
//    is asked for in the request and admitted from the admin's allow-list.
Confinement DefaultConfinement(std::string_view template_name) {
  Confinement c;
  if (template_name == builtin::kPostgres) {
    c.capabilities = {"CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID"};
    c.read_only_rootfs = true;
    c.tmpfs = {"/tmp", "/var/run/postgresql"};
  } else if (template_name == builtin::kMinio) {
    c.read_only_rootfs = true;
    c.tmpfs = {"/tmp", "/root/.minio"};  // MinIO makes its certs directory under $HOME
  } else {
    c.capabilities = {"NET_BIND_SERVICE"};
  }
  return c;
}

RenderedWorkload Render(const WorkloadRequest& req, const Credentials& creds,
                        const ImageConfig& images) {
  RenderedWorkload out;
  if (req.template_name == builtin::kPostgres)
    out = RenderPostgres(req, creds, images);
  else if (req.template_name == builtin::kMinio)
    out = RenderMinio(req, creds, images);
  else
    out = RenderCustom(req);
  ApplyIdleTimeouts(req, out);
  ApplyPublish(req, out);
  return out;
}

WorkloadRequest RequestOf(std::string_view template_name, const RenderedWorkload& spec) {
  WorkloadRequest req;
  req.template_name = std::string(template_name);
  req.image = spec.image;
  const auto reserved = builtin::ReservedEnvKeys(template_name);
  for (const std::string& kv : spec.env) {
    const auto eq = kv.find('=');
    const std::string key = kv.substr(0, eq);
    if (std::find(reserved.begin(), reserved.end(), key) != reserved.end()) continue;
    req.env.emplace_back(key, eq == std::string::npos ? std::string() : kv.substr(eq + 1));
  }
  if (spec.memory_mb > 0) req.memory_mb = spec.memory_mb;
  if (spec.cpus > 0) req.cpus = spec.cpus;
  if (template_name != builtin::kCustom) {
    // Managed templates take no ports; one idle timeout for all of them is the request's.
    if (!spec.ports.empty() && spec.ports.front().idle_timeout_s > 0)
      req.idle_timeout_s = spec.ports.front().idle_timeout_s;
    req.publish = !spec.ports.empty() && spec.ports.front().publish;
    return req;
  }
  req.command = spec.command;
  for (const PortSpec& p : spec.ports) {
    PortRequest pr;
    pr.port = p.container_port;
    pr.protocol = p.protocol;
    if (p.idle_timeout_s > 0) pr.idle_timeout_s = p.idle_timeout_s;
    pr.probe = p.probe;
    pr.publish = p.publish;
    req.ports.push_back(pr);
  }
  for (const VolumeSpec& v : spec.volumes) req.volumes.push_back({v.name, v.container_path});
  if (spec.confinement) {
    if (!spec.confinement->user.empty()) req.user = spec.confinement->user;
    const Confinement defaults = DefaultConfinement(builtin::kCustom);
    for (const std::string& cap : spec.confinement->capabilities)
      if (std::find(defaults.capabilities.begin(), defaults.capabilities.end(), cap) ==
          defaults.capabilities.end())
        req.capabilities.push_back(cap);
  }
  return req;
}

}  // namespace lattice::templates
