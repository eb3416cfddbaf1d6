// invite create|ls|rm and audit: what administrators do from the command line.
#include <boost/json.hpp>

#include "cli/verbs.h"
#include "cli/views.h"

namespace lattice::cli {
namespace json = boost::json;

namespace {

constexpr const char* kGroup = "Administration";

struct InviteFlags {
  std::string server;
  std::string output = "table";
  std::string note;
  std::int64_t ttl_seconds = 7 * 24 * 3600;
  std::string id;
};

int RunInviteCreate(const CLI::App& cmd, const InviteFlags& f) {
  Session s = Connect(cmd, f.server);
  if (!s) return s.exit_code;
  auto inv =
      s->Post("/api/v1/invites", json::object{{"note", f.note}, {"ttl_seconds", f.ttl_seconds}});
  if (!inv.ok()) return Fail(cmd, inv.error());
  if (f.output == "json") {
    PrintJson(*inv);
    return kExitOk;
  }
  if (!inv->is_object()) return Fail(cmd, Error::Unavailable("the server's answer is no invite"));
  const json::object& o = inv->as_object();
  Print("Invite " + Text(o, "id") + " (valid once, until " + Text(o, "expires_at") + "):\n  " +
        Text(o, "code") + "\n\nThe invited person signs up at " + s->server().ToString() +
        "/signup with this code. It is shown only now.\n");
  return kExitOk;
}

int RunInviteList(const CLI::App& cmd, const InviteFlags& f) {
  Session s = Connect(cmd, f.server);
  if (!s) return s.exit_code;
  auto list = s->Get("/api/v1/invites");
  if (!list.ok()) return Fail(cmd, list.error());
  const json::array items = Items(*list);
  if (f.output == "json")
    PrintJson(items);
  else if (items.empty())
    Print("No invites: `lattice invite create` makes one.\n");
  else
    Print(InvitesTable(items, Now()));
  return kExitOk;
}

int RunInviteRemove(const CLI::App& cmd, const InviteFlags& f) {
  Session s = Connect(cmd, f.server);
  if (!s) return s.exit_code;
  auto r = s->Delete("/api/v1/invites/" + f.id);
  if (!r.ok()) return Fail(cmd, r.error());
  Print("Deleted invite " + f.id + ".\n");
  return kExitOk;
}

struct AuditFlags {
  std::string server;
  std::string output = "table";
  int limit = 50;
  std::int64_t before = 0;
};

int RunAudit(const CLI::App& cmd, const AuditFlags& f) {
  Session s = Connect(cmd, f.server);
  if (!s) return s.exit_code;
  std::string target = "/api/v1/audit?limit=" + std::to_string(f.limit);
  if (f.before > 0) target += "&before=" + std::to_string(f.before);
  auto page = s->Get(target);
  if (!page.ok()) return Fail(cmd, page.error());
  if (f.output == "json") {
    PrintJson(*page);
    return kExitOk;
  }
  const json::array items = Items(*page);
  if (items.empty()) {
    Print(f.before > 0 ? "No older events.\n" : "No events yet.\n");
    return kExitOk;
  }
  std::string out = AuditTable(items);
  if (page->is_object()) {
    const std::string next = Text(page->as_object(), "next_before");
    if (next != "-") out += "\nOlder events: lattice audit --before " + next + "\n";
  }
  Print(out);
  return kExitOk;
}

}  // namespace

void AddAdminVerbs(CLI::App& app, Registry& reg) {
  CLI::App* invite = app.add_subcommand("invite", "Manage sign-up invites (admins only)");
  invite->group(kGroup);
  invite->footer("Examples:\n  lattice invite create --note 'for Bob'\n  lattice invite ls");

  auto cf = std::make_shared<InviteFlags>();
  CLI::App* create = invite->add_subcommand("create", "Create a single-use sign-up invite");
  create->add_option("--note", cf->note, "What to remember it by, e.g. who it is for")
      ->type_name("TEXT");
  create->add_option("--ttl", cf->ttl_seconds, "How long it stays valid")
      ->type_name("SECONDS")
      ->check(CLI::Range(std::int64_t{60}, std::int64_t{90} * 24 * 3600))
      ->capture_default_str();
  AddOutputOption(*create, cf->output);
  AddServerOption(*create, cf->server);
  create->footer("Example:\n  lattice invite create --note 'for Bob' --ttl 86400");
  reg.Add(create, [create, cf] { return RunInviteCreate(*create, *cf); });

  auto lf = std::make_shared<InviteFlags>();
  CLI::App* ls = invite->add_subcommand("ls", "List invites, newest first");
  AddOutputOption(*ls, lf->output);
  AddServerOption(*ls, lf->server);
  ls->footer("Example:\n  lattice invite ls --output json");
  reg.Add(ls, [ls, lf] { return RunInviteList(*ls, *lf); });

  auto rf = std::make_shared<InviteFlags>();
  CLI::App* rm = invite->add_subcommand("rm", "Delete an invite (an unused one stops working)");
  rm->add_option("ID", rf->id, "The invite's id (inv_…, from `lattice invite ls`)")
      ->type_name("")
      ->required();
  AddServerOption(*rm, rf->server);
  rm->footer("Example:\n  lattice invite rm inv_…");
  reg.Add(rm, [rm, rf] { return RunInviteRemove(*rm, *rf); });
  AddChoiceGroup(*invite, reg, "action");

  auto af = std::make_shared<AuditFlags>();
  CLI::App* audit = app.add_subcommand("audit", "Show the audit trail, newest first (admins only)");
  audit->group(kGroup);
  audit->add_option("--limit", af->limit, "How many events")
      ->type_name("N")
      ->check(CLI::Range(1, 500))
      ->capture_default_str();
  audit->add_option("--before", af->before, "Only events older than this event id (paging)")
      ->type_name("ID")
      ->check(CLI::PositiveNumber);
  AddOutputOption(*audit, af->output);
  AddServerOption(*audit, af->server);
  audit->footer(
      "Examples:\n  lattice audit\n  lattice audit --output json | jq '.items[] | "
      "select(.outcome == \"failure\")'");
  reg.Add(audit, [audit, af] { return RunAudit(*audit, *af); });
}

}  // namespace lattice::cli
