#include "templates/admission.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>

#include "templates/builtin.h"

namespace lattice::templates {
namespace {

// capabilities(7), Linux 6.x, without the CAP_ prefix.
constexpr std::array<std::string_view, 41> kCapabilities = {
    "AUDIT_CONTROL",   "AUDIT_READ",   "AUDIT_WRITE",
    "BLOCK_SUSPEND",   "BPF",          "CHECKPOINT_RESTORE",
    "CHOWN",           "DAC_OVERRIDE", "DAC_READ_SEARCH",
    "FOWNER",          "FSETID",       "IPC_LOCK",
    "IPC_OWNER",       "KILL",         "LEASE",
    "LINUX_IMMUTABLE", "MAC_ADMIN",    "MAC_OVERRIDE",
    "MKNOD",           "NET_ADMIN",    "NET_BIND_SERVICE",
    "NET_BROADCAST",   "NET_RAW",      "PERFMON",
    "SETFCAP",         "SETGID",       "SETPCAP",
    "SETUID",          "SYS_ADMIN",    "SYS_BOOT",
    "SYS_CHROOT",      "SYS_MODULE",   "SYS_NICE",
    "SYS_PACCT",       "SYS_PTRACE",   "SYS_RAWIO",
    "SYS_RESOURCE",    "SYS_TIME",     "SYS_TTY_CONFIG",
    "SYSLOG",          "WAKE_ALARM"};

// Each of these lets a process leave its container or take over the node.
constexpr std::array<std::string_view, 10> kForbidden = {
    "SYS_ADMIN", "SYS_MODULE",   "SYS_RAWIO", "SYS_BOOT",        "SYS_PTRACE",
    "MAC_ADMIN", "MAC_OVERRIDE", "BPF",       "DAC_READ_SEARCH", "CHECKPOINT_RESTORE"};

std::optional<std::int64_t> ParseId(std::string_view s) {
  if (s.empty() || s.size() > 10) return std::nullopt;
  std::int64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || v < 0 || v > 2147483647)
    return std::nullopt;
  return v;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

// The host part of "host", "host:port", "[v6]" or "[v6]:port".
std::string HostOf(std::string_view registry) {
  if (registry.starts_with('[')) {
    auto end = registry.find(']');
    return std::string(registry.substr(1, end == std::string_view::npos ? 0 : end - 1));
  }
  auto colon = registry.find(':');
  return std::string(registry.substr(0, colon));
}

bool Contains(const std::vector<std::string>& list, std::string_view v) {
  return std::find(list.begin(), list.end(), v) != list.end();
}

}  // namespace

bool IsForbiddenCapability(std::string_view cap) {
  return std::find(kForbidden.begin(), kForbidden.end(), cap) != kForbidden.end();
}

bool IsKnownCapability(std::string_view cap) {
  return std::find(kCapabilities.begin(), kCapabilities.end(), cap) != kCapabilities.end();
}

std::optional<std::pair<std::int64_t, std::int64_t>> ParseUser(std::string_view user) {
  auto colon = user.find(':');
  auto uid = ParseId(user.substr(0, colon));
  if (!uid) return std::nullopt;
  if (colon == std::string_view::npos) return std::pair{*uid, std::int64_t{-1}};
  auto gid = ParseId(user.substr(colon + 1));
  if (!gid) return std::nullopt;
  return std::pair{*uid, *gid};
}

Result<std::vector<UidRange>> ParseUidRanges(std::string_view text) {
  std::vector<UidRange> out;
  while (!text.empty()) {
    auto comma = text.find(',');
    std::string_view part = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    auto dash = part.find('-');
    auto first = ParseId(part.substr(0, dash));
    auto last = dash == std::string_view::npos ? first : ParseId(part.substr(dash + 1));
    if (!first || !last || *last < *first) {
      return Error::Invalid("uid range '" + std::string(part.substr(0, 32)) +
                            "' must be N or N-M with 0 ≤ N ≤ M ≤ 2147483647");
    }
    out.push_back({*first, *last});
  }
  return out;
}

std::string RegistryOf(std::string_view image) {
  auto slash = image.find('/');
  if (slash == std::string_view::npos) return kDefaultRegistry;
  std::string_view first = image.substr(0, slash);
  if (first.find('.') == std::string_view::npos && first.find(':') == std::string_view::npos &&
      first != "localhost") {
    return kDefaultRegistry;
  }
  return Lower(first);
}

std::string NormalizedImage(std::string_view image) {
  const std::string registry = RegistryOf(image);
  std::string_view rest = image;
  if (image.find('/') != std::string_view::npos &&
      Lower(image.substr(0, image.find('/'))) == registry)
    rest = image.substr(image.find('/') + 1);
  std::string path(rest);
  if (registry == kDefaultRegistry && path.find('/') == std::string::npos) path = "library/" + path;
  const bool has_tag_or_digest =
      path.find('@') != std::string::npos || path.rfind(':') != std::string::npos;
  if (!has_tag_or_digest) path += ":latest";
  return registry + "/" + path;
}

bool IsLocalRegistryHost(std::string_view registry) {
  const std::string host = Lower(HostOf(registry));
  if (host == "localhost" || host.ends_with(".localhost")) return true;
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) {
    const std::uint32_t a = ntohl(v4.s_addr);
    return (a >> 24) == 127 || (a >> 16) == 0xA9FE || a == 0 || (a >> 28) == 0xE;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&v6) || IN6_IS_ADDR_UNSPECIFIED(&v6) || IN6_IS_ADDR_LINKLOCAL(&v6) ||
        IN6_IS_ADDR_MULTICAST(&v6))
      return true;
    if (IN6_IS_ADDR_V4MAPPED(&v6)) {
      char buf[INET_ADDRSTRLEN];
      inet_ntop(AF_INET, &v6.s6_addr[12], buf, sizeof buf);
      return IsLocalRegistryHost(buf);
    }
  }
  return false;
}

Status Admit(const WorkloadRequest& req, const AdmissionPolicy& policy) {
  std::vector<FieldError> refused;
  if (req.image) {
    const std::string registry = RegistryOf(*req.image);
    if (!Contains(policy.registries, registry)) {
      refused.push_back(
          {"image", IsLocalRegistryHost(registry)
                        ? "names registry " + registry +
                              ", an address on the node itself; only an administrator can allow "
                              "such a registry"
                        : "comes from registry " + registry +
                              ", which is not on this installation's list of allowed registries"});
    } else if (!policy.image_prefixes.empty()) {
      const std::string full = NormalizedImage(*req.image);
      const bool ok = std::any_of(policy.image_prefixes.begin(), policy.image_prefixes.end(),
                                  [&](const std::string& p) { return full.starts_with(p); });
      if (!ok) refused.push_back({"image", "is not on this installation's list of allowed images"});
    }
  }
  if (req.user) {
    auto ids = ParseUser(*req.user);
    auto allowed = [&](std::int64_t id) {
      return std::any_of(policy.uids.begin(), policy.uids.end(),
                         [&](const UidRange& r) { return id >= r.first && id <= r.last; });
    };
    if (ids && (!allowed(ids->first) || (ids->second >= 0 && !allowed(ids->second)))) {
      refused.push_back({"security.user", "runs as an id that this installation does not allow"});
    }
  }
  for (std::size_t i = 0; i < req.capabilities.size(); ++i) {
    const std::string& cap = req.capabilities[i];
    if (IsForbiddenCapability(cap) || !Contains(policy.capabilities, cap)) {
      refused.push_back({"security.capabilities[" + std::to_string(i) + "]",
                         cap + " is not on this installation's list of allowed capabilities"});
    }
  }
  if (refused.empty()) return Status::Ok();
  Error e = Error::Forbidden("The workload asks for something this installation does not allow.");
  e.type = "not-allowed";
  e.fields = std::move(refused);
  return e;
}

}  // namespace lattice::templates
