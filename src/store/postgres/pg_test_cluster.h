// TestCluster: a throwaway PostgreSQL server for tests, from the distribution's binaries
// (Debian: /usr/lib/postgresql/<version>/bin; $LATTICE_PG_BINDIR overrides). It runs initdb
// and postgres in a fresh temp dir, listening on 127.0.0.1:<free port> with its unix socket in
// that dir, trust authentication for the superuser `lattice`, and durability off (tests need
// speed, not crash safety). PostgreSQL refuses to run as root, so under root both run as the
// `postgres` system user the package creates, in a dir chowned to it. The server dies with the
// process that started it (PR_SET_PDEATHSIG), so a crashed test leaves no server behind.
// Not thread-safe: set it up and tear it down from one thread.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "common/result.h"

namespace lattice::store::postgres {

class TestCluster {
 public:
  // kUnavailable, with the reason, if PostgreSQL is not installed or does not start.
  static Result<std::unique_ptr<TestCluster>> Start();
  // One cluster for the whole test binary, started on first use and stopped at exit.
  static Result<TestCluster*> Shared();

  TestCluster() = default;  // use Start()
  // Stops the server and removes its directory.
  ~TestCluster();
  TestCluster(const TestCluster&) = delete;
  TestCluster& operator=(const TestCluster&) = delete;

  // A fresh, empty database; returns its URL.
  Result<std::string> CreateDatabase();
  // postgres://lattice@127.0.0.1:<port>/<db>
  std::string Url(const std::string& db) const;
  int port() const { return port_; }

  // Runs `sql` (no parameters; test setup only) as the superuser in database `db`.
  Status Exec(const std::string& db, const std::string& sql);

  // Stops the server keeping its data (an outage), and starts it again on the same port.
  Status Stop();
  Status Restart();

 private:
  Status Launch();

  std::string bindir_;
  std::string dir_;  // the temp dir: data/, the socket, postgres.log
  uid_t uid_ = 0;    // the user postgres runs as (0: this process's own)
  gid_t gid_ = 0;
  bool switch_user_ = false;
  int port_ = 0;
  pid_t pid_ = -1;  // the postmaster, -1 when stopped
};

}  // namespace lattice::store::postgres
