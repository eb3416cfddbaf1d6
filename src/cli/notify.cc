// notify add|ls|rm|test|log: webhook and e-mail channels that hear of alerts
// (docs/notifications.md).
#include <boost/json.hpp>

#include "cli/table.h"
#include "cli/verbs.h"
#include "cli/views.h"

namespace lattice::cli {
namespace json = boost::json;

namespace {

constexpr const char* kGroup = "Notifications";

struct NotifyFlags {
  std::string server;
  std::string output = "table";
  std::string webhook;
  std::string email;
  std::vector<std::string> events;
  std::string id;
  int limit = 20;
};

std::string Events(const json::object& o) {
  std::string out;
  if (const auto* ev = o.if_contains("events"); ev && ev->is_array()) {
    for (const auto& e : ev->as_array()) {
      if (!e.is_string()) continue;
      if (!out.empty()) out += ",";
      out += std::string(e.as_string());
    }
  }
  return out;
}

std::string Target(const json::object& o) {
  return Text(o, "kind") == "email" ? Text(o, "email") : Text(o, "url");
}

int RunAdd(const CLI::App& cmd, const NotifyFlags& f) {
  if (f.webhook.empty() == f.email.empty())
    return Fail(cmd, Error::Invalid("give exactly one of --webhook URL or --email ADDRESS"));
  json::object body;
  if (!f.webhook.empty()) {
    body = {{"kind", "webhook"}, {"url", f.webhook}};
  } else {
    body = {{"kind", "email"}, {"email", f.email}};
  }
  if (!f.events.empty()) {
    json::array events;
    for (const auto& e : f.events) events.emplace_back(e);
    body["events"] = std::move(events);
  }
  Session s = Connect(cmd, f.server);
  if (!s) return s.exit_code;
  auto made = s->Post("/api/v1/notification-channels", body);
  if (!made.ok()) return Fail(cmd, made.error());
  if (f.output == "json" || !made->is_object()) {
    PrintJson(*made);
    return kExitOk;
  }
  const json::object& o = made->as_object();
  std::string out = "Added " + Text(o, "kind") + " channel " + Text(o, "id") + " → " + Target(o) +
                    "\n  events: " + Events(o) + "\n";
  if (const auto* secret = o.if_contains("secret"); secret && secret->is_string()) {
    out += "\nSigning secret (shown only now; keep it with the receiver):\n  " +
           std::string(secret->as_string()) +
           "\nEach POST carries X-Lattice-Timestamp and X-Lattice-Signature: "
           "sha256=HMAC-SHA256(secret, timestamp + \".\" + body).\n";
  }
  out += "\nTry it: lattice notify test " + Text(o, "id") + "\n";
  Print(out);
  return kExitOk;
}

int RunList(const CLI::App& cmd, const NotifyFlags& f) {
  Session s = Connect(cmd, f.server);
  if (!s) return s.exit_code;
  auto list = s->Get("/api/v1/notification-channels");
  if (!list.ok()) return Fail(cmd, list.error());
  const json::array items = Items(*list);
  if (f.output == "json") {
    PrintJson(items);
    return kExitOk;
  }
  if (items.empty()) {
    Print("No notification channels: `lattice notify add --webhook URL` adds one.\n");
    return kExitOk;
  }
  Table t({"ID", "KIND", "TARGET", "EVENTS", "CREATED"});
  for (const auto& v : items) {
    if (!v.is_object()) continue;
    const json::object& o = v.as_object();
    t.AddRow(
        {Text(o, "id"), Text(o, "kind"), Target(o), Events(o), Ago(Text(o, "created_at"), Now())});
  }
  Print(t.Render());
  return kExitOk;
}

int RunRemove(const CLI::App& cmd, const NotifyFlags& f) {
  Session s = Connect(cmd, f.server);
  if (!s) return s.exit_code;
  auto done = s->Delete("/api/v1/notification-channels/" + f.id);
  if (!done.ok()) return Fail(cmd, done.error());
  Print("Removed notification channel " + f.id + ".\n");
  return kExitOk;
}

int RunTest(const CLI::App& cmd, const NotifyFlags& f) {
  Session s = Connect(cmd, f.server);
  if (!s) return s.exit_code;
  auto queued = s->Post("/api/v1/notification-channels/" + f.id + "/test");
  if (!queued.ok()) return Fail(cmd, queued.error());
  if (f.output == "json") {
    PrintJson(*queued);
    return kExitOk;
  }
  const std::string id = queued->is_object() ? Text(queued->as_object(), "id") : "";
  Print("Queued test notification " + id + "; its result: lattice notify log " + f.id + "\n");
  return kExitOk;
}

int RunLog(const CLI::App& cmd, const NotifyFlags& f) {
  Session s = Connect(cmd, f.server);
  if (!s) return s.exit_code;
  auto list = s->Get("/api/v1/notification-channels/" + f.id +
                     "/deliveries?limit=" + std::to_string(f.limit));
  if (!list.ok()) return Fail(cmd, list.error());
  const json::array items = Items(*list);
  if (f.output == "json") {
    PrintJson(items);
    return kExitOk;
  }
  if (items.empty()) {
    Print("Nothing sent on this channel yet.\n");
    return kExitOk;
  }
  Table t({"ID", "EVENT", "STATUS", "ATTEMPTS", "LAST", "RESULT", "CREATED"});
  for (const auto& v : items) {
    if (!v.is_object()) continue;
    const json::object& o = v.as_object();
    t.AddRow({Text(o, "id"), Text(o, "kind"), Text(o, "status"), Text(o, "attempts"),
              Text(o, "last_code"), Text(o, "last_result"), Ago(Text(o, "created_at"), Now())});
  }
  Print(t.Render());
  return kExitOk;
}

CLI::App* WithId(CLI::App* cmd, NotifyFlags& f) {
  cmd->add_option("ID", f.id, "The channel's id (nch_…, from `lattice notify ls`)")
      ->type_name("")
      ->required();
  return cmd;
}

}  // namespace

void AddNotifyVerbs(CLI::App& app, Registry& reg) {
  CLI::App* notify =
      app.add_subcommand("notify", "Webhooks and e-mail that hear when something breaks");
  notify->group(kGroup);
  notify->footer(
      "Examples:\n  lattice notify add --webhook https://hooks.example.com/lattice\n"
      "  lattice notify add --email ops@example.com --events workload.failed,backup.failed\n"
      "  lattice notify ls");

  auto af = std::make_shared<NotifyFlags>();
  CLI::App* add = notify->add_subcommand("add", "Add a webhook or e-mail channel");
  add->add_option("--webhook", af->webhook, "POST signed JSON to this http(s) URL")
      ->type_name("URL");
  add->add_option("--email", af->email, "Send e-mail to this address")->type_name("ADDRESS");
  add->add_option("--events", af->events,
                  "Alert kinds to hear of (default: all you may receive): workload.failed, "
                  "workload.lost, workload.recovered, endpoint.unreachable, endpoint.reachable, "
                  "backup.failed, backup.not-verified, quota.nearly-used; admins also node.down, "
                  "node.up")
      ->type_name("KIND,...")
      ->delimiter(',');
  AddOutputOption(*add, af->output);
  AddServerOption(*add, af->server);
  add->footer(
      "Example:\n  lattice notify add --webhook https://hooks.example.com/x --events "
      "workload.failed");
  reg.Add(add, [add, af] { return RunAdd(*add, *af); });

  auto lf = std::make_shared<NotifyFlags>();
  CLI::App* ls = notify->add_subcommand("ls", "List your channels");
  AddOutputOption(*ls, lf->output);
  AddServerOption(*ls, lf->server);
  ls->footer("Example:\n  lattice notify ls --output json");
  reg.Add(ls, [ls, lf] { return RunList(*ls, *lf); });

  auto rf = std::make_shared<NotifyFlags>();
  CLI::App* rm = WithId(notify->add_subcommand("rm", "Remove a channel and its log"), *rf);
  AddServerOption(*rm, rf->server);
  rm->footer("Example:\n  lattice notify rm nch_…");
  reg.Add(rm, [rm, rf] { return RunRemove(*rm, *rf); });

  auto tf = std::make_shared<NotifyFlags>();
  CLI::App* test = WithId(notify->add_subcommand("test", "Send a test notification"), *tf);
  AddOutputOption(*test, tf->output);
  AddServerOption(*test, tf->server);
  test->footer("Example:\n  lattice notify test nch_…");
  reg.Add(test, [test, tf] { return RunTest(*test, *tf); });

  auto gf = std::make_shared<NotifyFlags>();
  CLI::App* log = WithId(notify->add_subcommand("log", "Show a channel's deliveries"), *gf);
  log->add_option("--limit", gf->limit, "How many, newest first")
      ->type_name("N")
      ->check(CLI::Range(1, 200))
      ->capture_default_str();
  AddOutputOption(*log, gf->output);
  AddServerOption(*log, gf->server);
  log->footer("Example:\n  lattice notify log nch_…");
  reg.Add(log, [log, gf] { return RunLog(*log, *gf); });
  AddChoiceGroup(*notify, reg, "action");
}

}  // namespace lattice::cli
