// deploy postgres|minio|custom NAME: create a workload, optionally wait for it to run, and show
// how to connect.
#include <boost/json.hpp>

#include "cli/deploy_request.h"
#include "cli/verbs.h"
#include "cli/views.h"
#include "cli/wait.h"

namespace lattice::cli {
namespace json = boost::json;

namespace {

struct DeployFlags {
  DeployArgs args;
  std::string server;
  std::string output = "table";
  bool wait = false;
  int timeout_seconds = 300;
  // CLI11 binds optionals poorly; these are copied into args before use.
  std::string image;
  std::int64_t memory_mb = 0;
  double cpus = 0;
  std::int64_t idle_timeout_s = 0;
  std::string user;
};

int RunDeploy(const CLI::App& cmd, DeployFlags& f) {
  if (cmd.get_option_no_throw("--image") && cmd.count("--image")) f.args.image = f.image;
  if (cmd.count("--memory")) f.args.memory_mb = f.memory_mb;
  if (cmd.count("--cpus")) f.args.cpus = f.cpus;
  if (cmd.count("--idle-timeout")) f.args.idle_timeout_s = f.idle_timeout_s;
  if (cmd.get_option_no_throw("--user") && cmd.count("--user")) f.args.user = f.user;
  auto body = BuildDeployRequest(f.args);
  if (!body.ok()) return Usage(cmd, body.error().message);
  Session s = Connect(cmd, f.server);
  if (!s) return s.exit_code;
  auto created = s->Post("/api/v1/workloads", *body);
  if (!created.ok()) return Fail(cmd, created.error());
  if (!created->is_object())
    return Fail(cmd, Error::Unavailable("the server's answer is not a workload"));
  json::object w = created->as_object();
  if (f.wait) {
    auto done = WaitFor(*s.client, w, Goal::kRunning, std::chrono::seconds(f.timeout_seconds));
    if (!done.ok()) return Fail(cmd, done.error());
    w = std::move(done).value();
  }
  if (f.output == "json") {
    PrintJson(w);
    return kExitOk;
  }
  const std::string name = Text(w, "name");
  std::string out = "Deployed " + Text(w, "template") + " workload " + name + " (" + Text(w, "id") +
                    "): " + Text(w, "status") + ".\n";
  const std::string conn = ConnectionDetails(w);
  if (!conn.empty()) out += conn;
  if (!f.wait)
    out += "Follow it with `lattice inspect " + name + "` (or deploy with --wait next time).\n";
  Print(out);
  return kExitOk;
}

// The options every template has.
CLI::App* AddTemplate(CLI::App& deploy, Registry& reg, const std::string& name,
                      const std::string& about, const std::string& footer,
                      const std::function<void(CLI::App&, DeployFlags&)>& extra = {}) {
  auto f = std::make_shared<DeployFlags>();
  f->args.template_name = name;
  CLI::App* cmd = deploy.add_subcommand(name, about);
  cmd->add_option("NAME", f->args.name,
                  "Workload name: lowercase letters, digits and '-', starting with a letter")
      ->type_name("")
      ->required();
  cmd->add_option("-e,--env", f->args.env, "Environment variable (repeatable)")
      ->type_name("KEY=VALUE")
      ->allow_extra_args(false);
  cmd->add_option("--memory", f->memory_mb, "Memory limit in MB")
      ->type_name("MB")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--cpus", f->cpus, "CPU limit, e.g. 0.5")
      ->type_name("N")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--idle-timeout", f->idle_timeout_s,
                  "Seconds a tunneled connection to the workload's ports may stay idle before "
                  "the edge closes it (10-86400; default: the server's)")
      ->type_name("SECONDS");
  cmd->add_flag("--publish", f->args.publish,
                "Also publish the workload's ports on the node's loopback (127.0.0.1), for "
                "clients on the node itself; the endpoints show each node_port");
  if (extra) extra(*cmd, *f);
  AddWaitOptions(*cmd, f->wait, f->timeout_seconds, "running");
  AddOutputOption(*cmd, f->output);
  AddServerOption(*cmd, f->server);
  cmd->footer(footer);
  reg.Add(cmd, [cmd, f] { return RunDeploy(*cmd, *f); });
  return cmd;
}

}  // namespace

void AddDeployVerbs(CLI::App& app, Registry& reg) {
  CLI::App* deploy = app.add_subcommand("deploy", "Deploy a workload from a template");
  deploy->group("Workloads");
  deploy->footer(
      "Examples:\n"
      "  lattice deploy postgres db --wait\n"
      "  lattice deploy minio files --wait\n"
      "  lattice deploy custom web --image nginx:1.27 --port 80 --wait");
  AddTemplate(*deploy, reg, "postgres", "A PostgreSQL database with generated credentials",
              "Example:\n  lattice deploy postgres db --memory 512 --wait");
  AddTemplate(*deploy, reg, "minio", "S3-compatible object storage with generated keys",
              "Example:\n  lattice deploy minio files --wait");
  AddTemplate(
      *deploy, reg, "custom", "Any container image, run as you describe it",
      "Everything after -- is the container's command.\n\n"
      "Example:\n"
      "  lattice deploy custom web --image busybox --port 8080 --env GREETING=hi --wait \\\n"
      "      -- httpd -f -p 8080",
      [](CLI::App& cmd, DeployFlags& f) {
        cmd.add_option("--image", f.image, "Image reference, e.g. nginx:1.27")
            ->type_name("REF")
            ->required();
        cmd.add_option("-p,--port", f.args.ports,
                       "Container port the workload serves, tcp unless /udp (repeatable)")
            ->type_name("PORT[/udp]")
            ->allow_extra_args(false);
        cmd.add_option("-v,--volume", f.args.volumes,
                       "A named volume mounted at PATH: its data outlives the container and "
                       "is what a volume snapshot saves (repeatable)")
            ->type_name("NAME:/PATH")
            ->allow_extra_args(false);
        cmd.add_option("--user", f.user,
                       "Run as this numeric user id (and group), from the server's allow-list")
            ->type_name("UID[:GID]");
        cmd.add_option("--cap-add", f.args.capabilities,
                       "Capability to add back, e.g. NET_ADMIN (repeatable; every container "
                       "starts with none but NET_BIND_SERVICE; the server's allow-list decides)")
            ->type_name("CAP")
            ->allow_extra_args(false);
        cmd.add_option("COMMAND", f.args.command, "The container's command and arguments, after --")
            ->type_name("");
      });
  AddChoiceGroup(*deploy, reg, "template");
}

}  // namespace lattice::cli
