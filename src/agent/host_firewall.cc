#include "agent/host_firewall.h"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <array>
#include <cerrno>
#include <cstring>

extern char** environ;

namespace lattice::agent {
namespace {

constexpr char kChain[] = "LATTICE-INPUT";

struct RunResult {
  int exit_code = -1;
  std::string output;
};

// Runs `program args…` without a shell, capturing stdout and stderr (at most 4 KiB kept).
Result<RunResult> Run(const std::string& program, const std::vector<std::string>& args) {
  int pipefd[2];
  if (pipe(pipefd) != 0) return Error::Unavailable(std::string("pipe: ") + std::strerror(errno));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipefd[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, pipefd[1], STDERR_FILENO);
  posix_spawn_file_actions_addclose(&actions, pipefd[0]);
  posix_spawn_file_actions_addclose(&actions, pipefd[1]);
  std::vector<std::string> argv_store{program};
  argv_store.insert(argv_store.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_store) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, program.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(pipefd[1]);
  if (rc != 0) {
    close(pipefd[0]);
    return Error::Unavailable(program + ": " + std::strerror(rc));
  }
  RunResult out;
  std::array<char, 1024> buf{};
  for (;;) {
    const ssize_t n = read(pipefd[0], buf.data(), buf.size());
    if (n > 0) {
      if (out.output.size() < 4096) out.output.append(buf.data(), static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    break;
  }
  close(pipefd[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  out.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

std::string Join(const std::string& program, const std::vector<std::string>& args) {
  std::string s = program;
  for (const auto& a : args) s += " " + a;
  return s;
}

bool ProgramExists(const std::string& program) {
  auto r = Run(program, {"--version"});
  return r.ok() && r->exit_code == 0;
}

}  // namespace

std::vector<std::vector<std::string>> HostFirewallRules(const std::string& iface_prefix) {
  const std::string iface = iface_prefix + "+";
  return {
      {"-A", kChain, "-m", "conntrack", "!", "--ctstate", "ESTABLISHED,RELATED", "-j", "DROP"},
      {"-I", "INPUT", "1", "-i", iface, "-j", kChain},
  };
}

Status InstallHostFirewall(const std::string& iface_prefix) {
  for (const std::string program : {"iptables", "ip6tables"}) {
    if (program == "ip6tables" && !ProgramExists(program)) continue;
    (void)Run(program, {"-w", "-N", kChain});  // exists already: fine
    for (const auto& rule : HostFirewallRules(iface_prefix)) {
      // `-C` takes the rule without the position: {"-I", chain, "1", …} → {"-C", chain, …}.
      std::vector<std::string> check = {"-w", "-C", rule[1]};
      check.insert(check.end(), rule.begin() + (rule[0] == "-I" ? 3 : 2), rule.end());
      if (auto c = Run(program, check); c.ok() && c->exit_code == 0) continue;
      std::vector<std::string> add = {"-w"};
      add.insert(add.end(), rule.begin(), rule.end());
      auto r = Run(program, add);
      Status st = !r.ok() ? Status(std::move(r).error())
                  : r->exit_code != 0
                      ? Status(Error::Unavailable(Join(program, add) +
                                                  " failed: " + r->output.substr(0, 512)))
                      : Status::Ok();
      if (st.ok()) continue;
      if (program == "ip6tables") {
        spdlog::warn("msg=\"ip6tables host firewall not installed\" error=\"{}\"",
                     st.error().message);
        break;
      }
      return st;
    }
    if (program == "iptables") {
      const std::vector<std::string> meta = {
          "DOCKER-USER", "-i", iface_prefix + "+", "-d", "169.254.0.0/16", "-j", "DROP"};
      std::vector<std::string> check = {"-w", "-C"};
      check.insert(check.end(), meta.begin(), meta.end());
      auto c = Run(program, check);
      if (!(c.ok() && c->exit_code == 0)) {
        std::vector<std::string> insert = {"-w", "-I"};
        insert.insert(insert.end(), meta.begin(), meta.end());
        auto r = Run(program, insert);
        if (!r.ok() || r->exit_code != 0)  // no DOCKER-USER: the engine runs without iptables
          spdlog::warn("msg=\"link-local egress not blocked: no DOCKER-USER chain\"");
      }
    }
  }
  spdlog::info("msg=\"host firewall installed\" interfaces={}+", iface_prefix);
  return Status::Ok();
}

}  // namespace lattice::agent
