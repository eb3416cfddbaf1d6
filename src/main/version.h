// What `lattice --version` reports: the release, the commit it was built from and the store
// schema it expects. The commit is baked in at build time (cmake/VersionInfo.cmake).
#pragma once

#include <string>
#include <string_view>

namespace lattice {

// The git commit the binary was built from (12 hex digits, "-dirty" with uncommitted changes),
// or "unknown" when built outside a git checkout.
std::string_view BuildCommit();

// "lattice 0.1.0 (commit 0123456789ab, schema 8)".
std::string VersionLine();

}  // namespace lattice
