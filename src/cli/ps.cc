// ps and inspect: reading workloads.
#include <boost/json.hpp>

#include "cli/verbs.h"
#include "cli/views.h"

namespace lattice::cli {
namespace json = boost::json;

namespace {

struct ReadFlags {
  std::string server;
  std::string output = "table";
  std::string name;    // inspect
  bool quiet = false;  // ps
};

int RunPs(const CLI::App& cmd, const ReadFlags& f) {
  Session s = Connect(cmd, f.server);
  if (!s) return s.exit_code;
  auto list = s->Get("/api/v1/workloads");
  if (!list.ok()) return Fail(cmd, list.error());
  const json::array items = Items(*list);
  if (f.output == "json") {
    PrintJson(items);
  } else if (f.quiet) {
    std::string names;
    for (const auto& w : items)
      if (w.is_object()) names += Text(w.as_object(), "name") + "\n";
    Print(names);
  } else if (items.empty()) {
    Print("No workloads yet: `lattice deploy postgres db --wait` creates one.\n");
  } else {
    Print(WorkloadsTable(items, Now()));
  }
  return kExitOk;
}

int RunInspect(const CLI::App& cmd, const ReadFlags& f) {
  Session s = Connect(cmd, f.server);
  if (!s) return s.exit_code;
  auto found = FindWorkload(*s.client, f.name);
  if (!found.ok()) return Fail(cmd, found.error());
  // The single record carries what the list leaves out (each endpoint's probe state).
  auto one = s->Get("/api/v1/workloads/" + Text(*found, "id"));
  if (!one.ok()) return Fail(cmd, one.error());
  const json::object* w = one->is_object() ? &one->as_object() : &*found;
  if (f.output == "json") {
    PrintJson(*w);
    return kExitOk;
  }
  auto events = s->Get("/api/v1/workloads/" + Text(*w, "id") + "/events");
  if (!events.ok()) return Fail(cmd, events.error());
  Print(WorkloadPage(*w, Items(*events), Now()));
  return kExitOk;
}

}  // namespace

void AddListVerbs(CLI::App& app, Registry& reg) {
  auto ps = std::make_shared<ReadFlags>();
  CLI::App* cmd = app.add_subcommand("ps", "List your workloads");
  cmd->group("Workloads");
  cmd->add_flag("-q,--quiet", ps->quiet, "Print only the names");
  AddOutputOption(*cmd, ps->output);
  AddServerOption(*cmd, ps->server);
  cmd->footer(
      "--output json prints the array of workloads as the API returns them.\n\n"
      "Examples:\n"
      "  lattice ps\n"
      "  lattice ps --output json | jq -r '.[] | select(.status == \"running\") | .name'");
  reg.Add(cmd, [cmd, ps] { return RunPs(*cmd, *ps); });

  auto in = std::make_shared<ReadFlags>();
  CLI::App* inspect = app.add_subcommand("inspect",
                                         "Show a workload: status, endpoints, "
                                         "credentials and recent events");
  inspect->group("Workloads");
  inspect->add_option("NAME", in->name, "The workload's name (or id)")->type_name("")->required();
  AddOutputOption(*inspect, in->output);
  AddServerOption(*inspect, in->server);
  inspect->footer(
      "Examples:\n"
      "  lattice inspect db\n"
      "  lattice inspect db --output json | jq -r .credentials.connection_string");
  reg.Add(
      inspect, [inspect, in] { return RunInspect(*inspect, *in); }, /*workload_arg=*/true);
}

}  // namespace lattice::cli
