// start, stop and rm NAME: change what a workload should be doing.
#include <boost/json.hpp>

#include "cli/verbs.h"
#include "cli/views.h"
#include "cli/wait.h"

namespace lattice::cli {

namespace {

struct Action {
  const char* verb;     // "start"
  const char* method;   // HTTP method
  const char* suffix;   // appended to /api/v1/workloads/{id}
  const char* doing;    // "Starting"
  const char* reached;  // "running"
  Goal goal;
  const char* about;
};

constexpr Action kActions[] = {
    {"start", "POST", "/start", "Starting", "running", Goal::kRunning, "Start a stopped workload"},
    {"stop", "POST", "/stop", "Stopping", "stopped", Goal::kStopped,
     "Stop a workload (its data is kept)"},
    {"rm", "DELETE", "", "Removing", "removed", Goal::kGone, "Remove a workload and its data"},
};

struct LifecycleFlags {
  std::string server;
  std::string name;
  bool wait = false;
  int timeout_seconds = 120;
};

int RunAction(const CLI::App& cmd, const Action& a, const LifecycleFlags& f) {
  Session s = Connect(cmd, f.server);
  if (!s) return s.exit_code;
  auto w = FindWorkload(*s.client, f.name);
  if (!w.ok()) return Fail(cmd, w.error());
  const std::string target = "/api/v1/workloads/" + Text(*w, "id") + a.suffix;
  auto r = std::string(a.method) == "DELETE" ? s->Delete(target) : s->Post(target);
  if (!r.ok()) return Fail(cmd, r.error());
  const std::string name = Text(*w, "name");
  if (!f.wait) {
    Print(std::string(a.doing) + " " + name + ".\n");
    return kExitOk;
  }
  auto done = WaitFor(*s.client, r->is_object() ? r->as_object() : *w, a.goal,
                      std::chrono::seconds(f.timeout_seconds));
  if (!done.ok()) return Fail(cmd, done.error());
  Print(name + " is " + a.reached + ".\n");
  return kExitOk;
}

}  // namespace

void AddLifecycleVerbs(CLI::App& app, Registry& reg) {
  for (const Action& a : kActions) {
    auto f = std::make_shared<LifecycleFlags>();
    CLI::App* cmd = app.add_subcommand(a.verb, a.about);
    cmd->group("Workloads");
    cmd->add_option("NAME", f->name, "The workload's name (or id)")->type_name("")->required();
    AddWaitOptions(*cmd, f->wait, f->timeout_seconds, a.reached);
    AddServerOption(*cmd, f->server);
    cmd->footer(std::string("Example:\n  lattice ") + a.verb + " web --wait");
    reg.Add(
        cmd, [cmd, &a, f] { return RunAction(*cmd, a, *f); }, /*workload_arg=*/true);
  }
}

}  // namespace lattice::cli
