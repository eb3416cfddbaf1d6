// The server's data directory holds secrets (the master key, the TLS private keys, the SQLite
// database with password hashes and encrypted credentials): only the server's own user may
// read it. PrepareDataDir creates it 0700, sets the process umask to 077 so everything the
// server writes from then on (SQLite's -wal and -shm included) is created owner-only, and
// fixes what an older version or an operator left readable: directories below it become 0700,
// files lose every group and other permission bit. Call once at start-up, before anything is
// written there. Not thread-safe (changes the process umask).
#pragma once

#include <string>

#include "common/result.h"

namespace lattice::server {

Status PrepareDataDir(const std::string& dir);

}  // namespace lattice::server
