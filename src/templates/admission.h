// Admission: what an administrator allows workloads to ask for, beyond what Validate() checks
// for well-formedness. Images come only from allowed registries (and, optionally, only with
// allowed name prefixes); a registry on loopback, link-local or unspecified addresses is
// refused unless it is on the allow-list by name, because the node's root Docker daemon would
// otherwise contact any host:port a user names. A custom workload's user id and extra
// capabilities must be on the allow-lists. Privileged mode, host namespaces, devices and host
// mounts have no field at all. Pure functions; thread-safe. docs/security.md has the model.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"
#include "templates/template.h"

namespace lattice::templates {

struct UidRange {
  std::int64_t first = 0;
  std::int64_t last = 0;
};

// The name Lattice gives the engine's default registry: the one a reference without a registry
// part ("postgres:15", "team/app") is pulled from.
inline constexpr char kDefaultRegistry[] = "default";

struct AdmissionPolicy {
  // Registries (host or host:port, as in an image reference; kDefaultRegistry for references
  // without one) that images may be pulled from.
  std::vector<std::string> registries = {kDefaultRegistry};
  // When not empty, a normalised reference ("default/library/postgres:15") must start with
  // one of these.
  std::vector<std::string> image_prefixes;
  // Capabilities a custom workload may add back. The default is the part of Docker's default
  // set that common images need to start as root and drop to a user; never NET_RAW or MKNOD.
  std::vector<std::string> capabilities = {"CHOWN",  "DAC_OVERRIDE", "FOWNER",          "KILL",
                                           "SETGID", "SETUID",       "NET_BIND_SERVICE"};
  // User ids a custom workload may run as; root (0) only if an administrator adds it.
  std::vector<UidRange> uids = {{1, 2147483647}};
};

// Capabilities no allow-list may contain: each is as good as privileged mode.
bool IsForbiddenCapability(std::string_view cap);
// A name from capabilities(7) without the CAP_ prefix ("NET_ADMIN").
bool IsKnownCapability(std::string_view cap);
// "uid" or "uid:gid" → (uid, gid or -1); nullopt when malformed or above 2147483647.
std::optional<std::pair<std::int64_t, std::int64_t>> ParseUser(std::string_view user);
// "1000-65534,70000" → ranges; kInvalidArgument naming the bad part.
Result<std::vector<UidRange>> ParseUidRanges(std::string_view text);

// The registry an image reference names, as Docker reads it: the first path component when it
// holds a '.' or ':' or is "localhost"; otherwise kDefaultRegistry. Lower-cased.
std::string RegistryOf(std::string_view image);
// The reference in full: "postgres:15" → "default/library/postgres:15".
std::string NormalizedImage(std::string_view image);
// Whether a registry (host[:port]) is "localhost" or an IP literal that is loopback,
// link-local, unspecified or multicast: somewhere only the node itself should be asked.
bool IsLocalRegistryHost(std::string_view registry);

// Checks a validated request against the policy: kPermissionDenied with one FieldError per
// refusal ("image", "security.user", "security.capabilities[1]"). Only what the user asked for
// is checked: the templates' default images are the administrator's own configuration.
Status Admit(const WorkloadRequest& req, const AdmissionPolicy& policy);

}  // namespace lattice::templates
