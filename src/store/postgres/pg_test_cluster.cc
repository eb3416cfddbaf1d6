#include "store/postgres/pg_test_cluster.h"

#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>
#include <vector>

#include "common/random.h"

namespace lattice::store::postgres {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// The bin dir of the newest installed PostgreSQL, or "".
std::string FindBinDir() {
  if (const char* env = std::getenv("LATTICE_PG_BINDIR"); env && *env) return env;
  std::string best;
  int best_version = -1;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    const fs::path bin = e.path() / "bin";
    if (!fs::exists(bin / "initdb") || !fs::exists(bin / "postgres")) continue;
    const std::string name = e.path().filename().string();
    const int v = std::atoi(name.c_str());
    if (v > best_version) {
      best_version = v;
      best = bin.string();
    }
  }
  return best;
}

int FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

std::string Tail(const std::string& path, std::size_t max = 2000) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  std::string s = ss.str();
  return s.size() > max ? "…" + s.substr(s.size() - max) : s;
}

// Forks and execs `argv` with output appended to `log`, as uid/gid if `switch_user`.
// Everything the child needs is prepared before fork (only async-signal-safe calls after).
pid_t Spawn(const std::vector<std::string>& args, const std::string& log, bool switch_user,
            uid_t uid, gid_t gid, bool die_with_parent) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  static char env_lc[] = "LC_ALL=C";
  static char env_tz[] = "TZ=UTC";
  static char env_path[] = "PATH=/usr/bin:/bin";
  char* envp[] = {env_lc, env_tz, env_path, nullptr};
  const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (out < 0) return -1;
  if (switch_user && ::fchown(out, uid, gid) != 0) {
    ::close(out);
    return -1;
  }
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (in < 0 || ::dup2(in, 0) < 0 || ::dup2(out, 1) < 0 || ::dup2(out, 2) < 0) ::_exit(126);
    ::setpgid(0, 0);  // a terminal's Ctrl-C goes to the test, which stops the server itself
    if (switch_user && (::setgroups(0, nullptr) != 0 || ::setgid(gid) != 0 || ::setuid(uid) != 0)) {
      ::_exit(126);
    }
    // After setuid (which clears it): if the test process dies, so does the server.
    if (die_with_parent) {
      ::prctl(PR_SET_PDEATHSIG, SIGQUIT);
      if (::getppid() != parent) ::_exit(126);
    }
    ::execve(argv[0], argv.data(), envp);
    ::_exit(127);
  }
  ::close(out);
  return pid;
}

// Waits for `pid` up to `timeout`; its exit status, or nullopt if it is still running.
std::optional<int> WaitFor(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    int status = 0;
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (r < 0) return -1;
    if (Clock::now() > deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace

Result<std::unique_ptr<TestCluster>> TestCluster::Start() {
  auto c = std::make_unique<TestCluster>();
  c->bindir_ = FindBinDir();
  if (c->bindir_.empty() || !fs::exists(fs::path(c->bindir_) / "initdb"))
    return Error::Unavailable(
        "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb; install the "
        "`postgresql` package, which scripts/setup.sh does, or set LATTICE_PG_BINDIR)");
  if (::geteuid() == 0) {
    const passwd* pw = ::getpwnam("postgres");
    if (pw == nullptr)
      return Error::Unavailable(
          "running as root, and there is no `postgres` user to run "
          "PostgreSQL as (initdb refuses root)");
    c->switch_user_ = true;
    c->uid_ = pw->pw_uid;
    c->gid_ = pw->pw_gid;
  }
  c->dir_ = (fs::temp_directory_path() / ("lattice-pg-" + NewId("t"))).string();
  std::error_code ec;
  fs::create_directories(c->dir_, ec);
  if (ec) return Error::Unavailable("cannot create " + c->dir_ + ": " + ec.message());
  if (c->switch_user_ && ::chown(c->dir_.c_str(), c->uid_, c->gid_) != 0)
    return Error::Unavailable("cannot chown " + c->dir_ + " to the postgres user");

  const std::string log = c->dir_ + "/initdb.log";
  const pid_t pid = Spawn({c->bindir_ + "/initdb", "-D", c->dir_ + "/data", "-U", "lattice",
                           "--auth=trust", "--no-sync", "--no-locale", "-E", "UTF8"},
                          log, c->switch_user_, c->uid_, c->gid_, /*die_with_parent=*/false);
  if (pid < 0) return Error::Unavailable("cannot start initdb");
  const auto rc = WaitFor(pid, std::chrono::seconds(120));
  if (!rc) {
    ::kill(pid, SIGKILL);
    (void)WaitFor(pid, std::chrono::seconds(5));
    return Error::Unavailable("initdb did not finish within 120 s");
  }
  if (*rc != 0)
    return Error::Unavailable("initdb failed (" + std::to_string(*rc) + "): " + Tail(log));

  Status s;
  for (int attempt = 0; attempt < 3; ++attempt) {  // a free port may be taken meanwhile
    c->port_ = FreePort();
    s = c->Launch();
    if (s.ok()) return c;
  }
  return std::move(s).error();
}

Result<TestCluster*> TestCluster::Shared() {
  static std::unique_ptr<TestCluster> cluster;
  static std::optional<Error> failure;
  if (!cluster && !failure) {
    auto c = Start();
    if (c.ok())
      cluster = std::move(c).value();
    else
      failure = std::move(c).error();
  }
  if (failure) return *failure;
  return cluster.get();
}

Status TestCluster::Launch() {
  const std::string log = dir_ + "/postgres.log";
  pid_ = Spawn(
      {bindir_ + "/postgres", "-D", dir_ + "/data", "-p", std::to_string(port_), "-c",
       "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=" + dir_, "-c", "fsync=off",
       "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=200"},
      log, switch_user_, uid_, gid_, /*die_with_parent=*/true);
  if (pid_ < 0) return Error::Unavailable("cannot start postgres");
  // Through our own socket directory: on 127.0.0.1 another test's server could answer on the
  // port ours failed to bind.
  const std::string ping = "host=" + dir_ + " port=" + std::to_string(port_) +
                           " user=lattice dbname=postgres connect_timeout=2";
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  while (Clock::now() < deadline) {
    if (PQping(ping.c_str()) == PQPING_OK) return Status::Ok();
    if (auto rc = WaitFor(pid_, std::chrono::milliseconds(0))) {
      pid_ = -1;
      return Error::Unavailable("postgres exited (" + std::to_string(*rc) + "): " + Tail(log));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  (void)Stop();
  return Error::Unavailable("postgres did not accept connections within 30 s: " + Tail(log));
}

Status TestCluster::Stop() {
  if (pid_ < 0) return Status::Ok();
  ::kill(pid_, SIGINT);  // fast shutdown: disconnects clients, checkpoints, exits
  auto rc = WaitFor(pid_, std::chrono::seconds(15));
  if (!rc) {
    ::kill(pid_, SIGKILL);
    rc = WaitFor(pid_, std::chrono::seconds(5));
  }
  pid_ = -1;
  return Status::Ok();
}

Status TestCluster::Restart() {
  if (Status s = Stop(); !s.ok()) return s;
  return Launch();
}

TestCluster::~TestCluster() {
  (void)Stop();
  std::error_code ec;
  if (!dir_.empty()) fs::remove_all(dir_, ec);
}

std::string TestCluster::Url(const std::string& db) const {
  return "postgres://lattice@127.0.0.1:" + std::to_string(port_) + "/" + db;
}

Result<std::string> TestCluster::CreateDatabase() {
  const std::string name = NewId("db");  // lower-case letters, digits, '_': a plain identifier
  if (Status s = Exec("postgres", "CREATE DATABASE " + name); !s.ok()) return std::move(s).error();
  return Url(name);
}

Status TestCluster::Exec(const std::string& db, const std::string& sql) {
  const std::string conninfo = "host=127.0.0.1 port=" + std::to_string(port_) +
                               " user=lattice connect_timeout=5 dbname=" + db;
  PGconn* c = PQconnectdb(conninfo.c_str());
  Status out;
  if (PQstatus(c) != CONNECTION_OK) {
    out = Error::Unavailable(std::string("connect: ") + PQerrorMessage(c));
  } else {
    PGresult* r = PQexec(c, sql.c_str());
    const ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
      out = Error::Internal(sql + ": " + PQresultErrorMessage(r));
    PQclear(r);
  }
  PQfinish(c);
  return out;
}

}  // namespace lattice::store::postgres
