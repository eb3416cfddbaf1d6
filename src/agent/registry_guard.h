// RegistryGuard: the agent's own check, just before an image is pulled, that the registry an
// image names is not the node itself. The server's admission already refuses literal
// loopback and link-local registries; a registry *name* can still resolve to 127.0.0.1 or to one
// of the node's own addresses, which would let the node's root Docker daemon be pointed at the
// node's private services. A registry the administrator allowed by name (welcome.registries)
// passes. The engine resolves the name again when it pulls, so a name whose DNS answer changes
// between the two lookups slips through: the firewall (host_firewall.h) does not help there,
// the server-side allow-list of registries is the real boundary. Resolution is blocking
// (getaddrinfo): call it off the network threads. Thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace lattice::agent {

// Ok when `image` may be pulled; otherwise kPermissionDenied with a short reason. The engine's
// default registry (a reference without a registry part) is never resolved.
Status CheckRegistry(std::string_view image, const std::vector<std::string>& allowed_by_name);

// Whether `address` (numeric IPv4/IPv6) is loopback, link-local, unspecified, or one of this
// machine's interface addresses.
bool IsNodeAddress(const std::string& address);

}  // namespace lattice::agent
