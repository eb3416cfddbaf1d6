// Validate(): every rule of template.h, each failure reported as its own FieldError so a
// client learns everything wrong with a request at once. Lists over their size limit are
// reported once and their entries are not inspected (bounds the size of the error).

#include <set>
#include <string>
#include <string_view>

#include "templates/admission.h"
#include "templates/builtin.h"
#include "templates/template.h"

namespace lattice::templates {
namespace {

constexpr std::size_t kMaxNameLength = 63;
constexpr std::size_t kMaxImageLength = 255;
constexpr std::size_t kMaxEnvEntries = 100;
constexpr std::size_t kMaxEnvKeyLength = 128;
constexpr std::size_t kMaxEnvValueLength = 32 * 1024;
constexpr std::size_t kMaxPorts = 20;
constexpr std::size_t kMaxCommandArgs = 100;
constexpr std::size_t kMaxCommandArgLength = 32 * 1024;
constexpr std::int64_t kMinMemoryMb = 16;
constexpr std::int64_t kMaxMemoryMb = 1048576;
constexpr double kMinCpus = 0.01;
constexpr double kMaxCpus = 256;
constexpr std::size_t kMaxCapabilities = 16;
constexpr std::int64_t kMinIdleTimeoutS = 10;
constexpr std::int64_t kMaxIdleTimeoutS = 86400;

bool IsLower(char c) {
  return c >= 'a' && c <= 'z';
}
bool IsDigit(char c) {
  return c >= '0' && c <= '9';
}
bool IsAlpha(char c) {
  return IsLower(c) || (c >= 'A' && c <= 'Z');
}
bool IsAlnum(char c) {
  return IsAlpha(c) || IsDigit(c);
}

class Collector {
 public:
  void Add(std::string field, std::string message) {
    errors_.push_back({std::move(field), std::move(message)});
  }
  Status Finish() {
    if (errors_.empty()) return Status::Ok();
    return Error::Invalid("The workload request is not valid.", std::move(errors_));
  }

 private:
  std::vector<FieldError> errors_;
};

void CheckName(const std::string& name, Collector& out) {
  if (name.empty()) return out.Add("name", "is required");
  if (name.size() > kMaxNameLength) return out.Add("name", "must be at most 63 characters");
  bool charset_ok = true;
  for (char c : name) charset_ok = charset_ok && (IsLower(c) || IsDigit(c) || c == '-');
  if (!charset_ok || !IsLower(name.front()) || name.back() == '-') {
    out.Add("name",
            "must be a DNS label: lowercase letters, digits and '-', starting with a letter and "
            "not ending with '-'");
  }
}

// A pragmatic reference check; the registry/daemon has the final word on the full grammar.
bool IsWellFormedImage(const std::string& image) {
  for (char c : image) {
    if (!IsAlnum(c) && c != '.' && c != '_' && c != '-' && c != '/' && c != ':' && c != '@')
      return false;
  }
  return IsAlnum(image.front()) && IsAlnum(image.back());
}

void CheckImage(const WorkloadRequest& req, Collector& out) {
  if (!req.image) {
    if (req.template_name == builtin::kCustom)
      out.Add("image", "is required for the custom template");
    return;
  }
  const std::string& image = *req.image;
  if (image.empty()) return out.Add("image", "must not be empty");
  if (image.size() > kMaxImageLength) return out.Add("image", "must be at most 255 characters");
  if (!IsWellFormedImage(image)) {
    out.Add("image",
            "must be an image reference such as postgres:16 or registry.example/team/app@sha256:… "
            "(letters, digits and . _ - / : @; no spaces)");
  }
}

bool IsValidEnvKey(const std::string& key) {
  if (key.empty() || !(IsAlpha(key.front()) || key.front() == '_')) return false;
  for (char c : key)
    if (!IsAlnum(c) && c != '_') return false;
  return true;
}

void CheckEnv(const WorkloadRequest& req, Collector& out) {
  if (req.env.size() > kMaxEnvEntries) return out.Add("env", "must have at most 100 entries");
  const auto reserved = builtin::ReservedEnvKeys(req.template_name);
  std::set<std::string> seen, reported;
  for (const auto& [key, value] : req.env) {
    const std::string field = "env." + key.substr(0, kMaxEnvKeyLength);
    if (key.size() > kMaxEnvKeyLength) {
      out.Add(field, "key must be at most 128 characters");
    } else if (!IsValidEnvKey(key)) {
      out.Add(field, "key must match [A-Za-z_][A-Za-z0-9_]*");
    }
    if (value.size() > kMaxEnvValueLength) out.Add(field, "value must be at most 32768 bytes");
    if (value.find('\0') != std::string::npos) out.Add(field, "value must not contain NUL");
    for (std::string_view r : reserved) {
      if (key == r) out.Add(field, "is set by the " + req.template_name + " template");
    }
    if (!seen.insert(key).second && reported.insert(key).second)
      out.Add(field, "is given more than once");
  }
}

void CheckCommand(const WorkloadRequest& req, Collector& out) {
  if (req.command.empty()) return;
  if (builtin::IsManaged(req.template_name))
    return out.Add("command", "is not supported for the " + req.template_name + " template");
  if (req.command.size() > kMaxCommandArgs)
    return out.Add("command", "must have at most 100 arguments");
  for (std::size_t i = 0; i < req.command.size(); ++i) {
    const std::string field = "command[" + std::to_string(i) + "]";
    if (req.command[i].size() > kMaxCommandArgLength) out.Add(field, "must be at most 32768 bytes");
    if (req.command[i].find('\0') != std::string::npos) out.Add(field, "must not contain NUL");
  }
}

void CheckIdleTimeout(const std::optional<std::int64_t>& s, const std::string& field,
                      Collector& out) {
  if (s && (*s < kMinIdleTimeoutS || *s > kMaxIdleTimeoutS))
    out.Add(field, "must be between 10 and 86400 (seconds)");
}

void CheckPorts(const WorkloadRequest& req, Collector& out) {
  if (req.ports.empty()) return;
  if (builtin::IsManaged(req.template_name))
    return out.Add("ports", "is not supported for the " + req.template_name + " template");
  if (req.ports.size() > kMaxPorts) return out.Add("ports", "must have at most 20 entries");
  std::set<std::pair<int, std::string>> seen;
  for (std::size_t i = 0; i < req.ports.size(); ++i) {
    const PortRequest& p = req.ports[i];
    const std::string prefix = "ports[" + std::to_string(i) + "]";
    const bool port_ok = p.port >= 1 && p.port <= 65535;
    const bool proto_ok = p.protocol == "tcp" || p.protocol == "udp";
    if (!port_ok) out.Add(prefix + ".port", "must be between 1 and 65535");
    if (!proto_ok) out.Add(prefix + ".protocol", "must be tcp or udp");
    if (port_ok && proto_ok && !seen.insert({p.port, p.protocol}).second)
      out.Add(prefix + ".port", "is given more than once");
    CheckIdleTimeout(p.idle_timeout_s, prefix + ".idle_timeout_s", out);
    if (!p.probe.empty() && p.probe != "tcp" && p.probe != "http")
      out.Add(prefix + ".probe", "must be tcp or http");
    else if (p.probe == "http" && p.protocol != "tcp")
      out.Add(prefix + ".probe", "http is only for tcp ports");
  }
}

void CheckResources(const WorkloadRequest& req, Collector& out) {
  if (req.memory_mb && (*req.memory_mb < kMinMemoryMb || *req.memory_mb > kMaxMemoryMb))
    out.Add("resources.memory_mb", "must be between 16 and 1048576");
  // Written so that NaN fails too.
  if (req.cpus && !(*req.cpus >= kMinCpus && *req.cpus <= kMaxCpus))
    out.Add("resources.cpus", "must be between 0.01 and 256");
}

// `security.user` is "uid" or "uid:gid" (decimal, ≤ 2147483647); capabilities are names from
// capabilities(7) without the CAP_ prefix, at most 16, each once.
void CheckSecurity(const WorkloadRequest& req, Collector& out) {
  const bool asked = req.user.has_value() || !req.capabilities.empty();
  if (asked && req.template_name != builtin::kCustom) {
    return out.Add("security", "is not supported for the " + req.template_name + " template");
  }
  if (req.user && !ParseUser(*req.user)) {
    out.Add("security.user", "must be a numeric uid or uid:gid, e.g. 1000:1000");
  }
  if (req.capabilities.size() > kMaxCapabilities) {
    return out.Add("security.capabilities", "must have at most 16 entries");
  }
  std::set<std::string> seen;
  for (std::size_t i = 0; i < req.capabilities.size(); ++i) {
    const std::string& cap = req.capabilities[i];
    const std::string f = "security.capabilities[" + std::to_string(i) + "]";
    if (!IsKnownCapability(cap)) {
      out.Add(f, "must be a Linux capability name without the CAP_ prefix, e.g. NET_ADMIN");
    } else if (!seen.insert(cap).second) {
      out.Add(f, "is listed twice");
    }
  }
}

void CheckVolumes(const WorkloadRequest& req, Collector& out) {
  if (req.volumes.empty()) return;
  if (req.template_name != builtin::kCustom)
    return out.Add("volumes", "is only for the custom template (managed templates have theirs)");
  if (req.volumes.size() > 8) return out.Add("volumes", "must have at most 8 entries");
  std::set<std::string> names, paths;
  for (std::size_t i = 0; i < req.volumes.size(); ++i) {
    const VolumeRequest& v = req.volumes[i];
    const std::string f = "volumes[" + std::to_string(i) + "]";
    bool name_ok = !v.name.empty() && v.name.size() <= 32 &&
                   (IsLower(v.name.front()) || IsDigit(v.name.front()));
    for (char c : v.name) name_ok = name_ok && (IsLower(c) || IsDigit(c) || c == '-');
    if (!name_ok)
      out.Add(f + ".name", "must be 1-32 lower-case letters, digits or '-', starting with one");
    else if (v.name == "secrets")
      out.Add(f + ".name", "'secrets' is Lattice's own volume");
    else if (!names.insert(v.name).second)
      out.Add(f + ".name", "is given twice");
    const std::string secrets = std::string(kSecretsDir);
    if (v.path.size() < 2 || v.path.front() != '/' || v.path.size() > 255 ||
        v.path.find("/../") != std::string::npos || v.path.find("//") != std::string::npos ||
        v.path.back() == '/' || v.path.find('\0') != std::string::npos ||
        v.path.find(':') != std::string::npos ||
        (v.path.size() >= 3 && v.path.compare(v.path.size() - 3, 3, "/..") == 0))
      out.Add(f + ".path", "must be an absolute path such as /data (at most 255 bytes)");
    else if (v.path == secrets || v.path.rfind(secrets + "/", 0) == 0 ||
             secrets.rfind(v.path + "/", 0) == 0)
      out.Add(f + ".path", "must not be or contain " + secrets);
    else if (!paths.insert(v.path).second)
      out.Add(f + ".path", "is given twice");
  }
}

}  // namespace

Status Validate(const WorkloadRequest& req) {
  Collector out;
  CheckName(req.name, out);
  const std::string& t = req.template_name;
  if (t.empty()) {
    out.Add("template", "is required");
  } else if (t != builtin::kPostgres && t != builtin::kMinio && t != builtin::kCustom) {
    out.Add("template", "must be one of postgres, minio, custom");
  }
  CheckImage(req, out);
  CheckEnv(req, out);
  CheckCommand(req, out);
  CheckPorts(req, out);
  CheckResources(req, out);
  CheckSecurity(req, out);
  CheckVolumes(req, out);
  CheckIdleTimeout(req.idle_timeout_s, "idle_timeout_s", out);
  return out.Finish();
}

}  // namespace lattice::templates
