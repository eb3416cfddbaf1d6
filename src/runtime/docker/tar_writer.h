// A POSIX ustar archive of a few small regular files: the body of the engine's
// PUT /containers/{id}/archive, which only accepts tar. Written here rather than with libarchive
// because it is one record type of one fixed-size header (POSIX.1-1988 ustar); the tests read
// its output with GNU tar and with the real engine. Pure; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "runtime/runtime.h"

namespace lattice::runtime::docker {

// Files owned by root (uid/gid 0) with each entry's mode, mtime 0. kInvalidArgument for a name
// that is empty, holds '/', is "." or "..", or is over 100 bytes, and for content over 1 MiB.
Result<std::string> TarArchive(const std::vector<FileEntry>& files);

}  // namespace lattice::runtime::docker
