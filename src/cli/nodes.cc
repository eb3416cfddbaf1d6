// nodes and join-token create: the machines that run workloads.
#include <boost/json.hpp>

#include "cli/verbs.h"
#include "cli/views.h"

namespace lattice::cli {
namespace json = boost::json;

namespace {

struct NodeFlags {
  std::string server;
  std::string output = "table";
};

int RunNodes(const CLI::App& cmd, const NodeFlags& f) {
  Session s = Connect(cmd, f.server);
  if (!s) return s.exit_code;
  auto list = s->Get("/api/v1/nodes");
  if (!list.ok()) return Fail(cmd, list.error());
  const json::array items = Items(*list);
  if (f.output == "json")
    PrintJson(items);
  else if (items.empty())
    Print("No nodes yet: `lattice join-token create` prints the command that adds one.\n");
  else
    Print(NodesTable(items, Now()));
  return kExitOk;
}

int RunJoinToken(const CLI::App& cmd, const NodeFlags& f) {
  Session s = Connect(cmd, f.server);
  if (!s) return s.exit_code;
  auto t = s->Post("/api/v1/nodes/join-tokens");
  if (!t.ok()) return Fail(cmd, t.error());
  if (f.output == "json") {
    PrintJson(*t);
    return kExitOk;
  }
  if (!t->is_object()) return Fail(cmd, Error::Unavailable("the server's answer is not a token"));
  const json::object& o = t->as_object();
  Print("Join token (valid once, until " + Text(o, "expires_at") + "):\n  " + Text(o, "token") +
        "\n\nOn the new machine, run:\n  " + Text(o, "command") + "\n");
  return kExitOk;
}

}  // namespace

void AddNodeVerbs(CLI::App& app, Registry& reg) {
  auto nf = std::make_shared<NodeFlags>();
  CLI::App* nodes = app.add_subcommand("nodes", "List the machines that run workloads");
  nodes->group("Nodes");
  AddOutputOption(*nodes, nf->output);
  AddServerOption(*nodes, nf->server);
  nodes->footer("Example:\n  lattice nodes --output json");
  reg.Add(nodes, [nodes, nf] { return RunNodes(*nodes, *nf); });

  CLI::App* jt = app.add_subcommand("join-token", "Manage tokens that let a new node join");
  jt->group("Nodes");
  jt->footer("Example:\n  lattice join-token create");
  auto jf = std::make_shared<NodeFlags>();
  CLI::App* create = jt->add_subcommand("create", "Create a one-time join token (admins only)");
  AddOutputOption(*create, jf->output);
  AddServerOption(*create, jf->server);
  create->footer("Example:\n  lattice join-token create");
  reg.Add(create, [create, jf] { return RunJoinToken(*create, *jf); });
  AddChoiceGroup(*jt, reg, "action");
}

}  // namespace lattice::cli
