// Render(): the container spec for each template. Managed templates put their own env first,
// then the user's extra env in the order given (Validate has rejected overrides).

#include <set>
#include <string>

#include "templates/builtin.h"
#include "templates/template.h"

namespace lattice::templates {
namespace {

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
  out.env = {"POSTGRES_USER=" + user, "POSTGRES_PASSWORD=" + password, "POSTGRES_DB=" + database};
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
  return out;
}

RenderedWorkload RenderMinio(const WorkloadRequest& req, const Credentials& creds,
                             const ImageConfig& images) {
  RenderedWorkload out;
  out.image = req.image.value_or(images.minio);
  out.env = {"MINIO_ROOT_USER=" + builtin::Credential(creds, "access_key"),
             "MINIO_ROOT_PASSWORD=" + builtin::Credential(creds, "secret_key")};
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
    out.ports.push_back({std::move(name), p.port, p.protocol, p.protocol});
  }
  out.memory_mb = req.memory_mb.value_or(0);
  out.cpus = req.cpus.value_or(0);
  out.readiness.kind = Readiness::Kind::kRunning;
  return out;
}

// Each port's idle timeout: its own (custom ports, in order), else the request's, else 0.
void ApplyIdleTimeouts(const WorkloadRequest& req, RenderedWorkload& out) {
  for (std::size_t i = 0; i < out.ports.size(); ++i) {
    const auto own = i < req.ports.size() ? req.ports[i].idle_timeout_s : std::nullopt;
    out.ports[i].idle_timeout_s = static_cast<int>(own.value_or(req.idle_timeout_s.value_or(0)));
  }
}

}  // namespace

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
  return out;
}

}  // namespace lattice::templates
