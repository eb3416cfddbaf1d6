// logs NAME [-f] [--tail N]: a workload's output, optionally followed as it is written.
#include <boost/json.hpp>

#include <cstdio>

#include "cli/verbs.h"
#include "cli/views.h"

namespace lattice::cli {

namespace {

struct LogsFlags {
  std::string server;
  std::string name;
  bool follow = false;
  int tail = 100;
};

int RunLogs(const CLI::App& cmd, const LogsFlags& f) {
  Session s = Connect(cmd, f.server);
  if (!s) return s.exit_code;
  auto w = FindWorkload(*s.client, f.name);
  if (!w.ok()) return Fail(cmd, w.error());
  const std::string path =
      "/api/v1/workloads/" + Text(*w, "id") + "/logs?tail=" + std::to_string(f.tail);
  if (!f.follow) {
    auto text = s->GetText(path);
    if (!text.ok()) return Fail(cmd, text.error());
    Print(*text);
    return kExitOk;
  }
  // Each `data:` line is one log line, printed as it arrives, until the stream ends or Ctrl-C.
  std::string stream_error;
  Status st = s->Events(path + "&follow=true", [&](const SseEvent& ev) {
    if (ev.type == "error") {
      stream_error = ev.data;
      return false;
    }
    Print(ev.data + "\n");
    return true;
  });
  if (!stream_error.empty())
    return Fail(cmd, Error::Conflict("the log stream ended with an error: " + stream_error));
  if (!st.ok()) return Fail(cmd, st.error());
  return kExitOk;
}

}  // namespace

void AddLogsVerb(CLI::App& app, Registry& reg) {
  auto f = std::make_shared<LogsFlags>();
  CLI::App* cmd = app.add_subcommand("logs", "Print a workload's output (stdout and stderr)");
  cmd->group("Workloads");
  cmd->add_option("NAME", f->name, "The workload's name (or id)")->type_name("")->required();
  cmd->add_flag("-f,--follow", f->follow,
                "Keep printing new lines as they are written (Ctrl-C stops)");
  cmd->add_option("-n,--tail", f->tail, "How many recent lines to start with")
      ->type_name("N")
      ->check(CLI::Range(0, 10000))
      ->capture_default_str();
  AddServerOption(*cmd, f->server);
  cmd->footer(
      "Lines are printed exactly as the workload wrote them.\n\n"
      "Examples:\n"
      "  lattice logs web --tail 20\n"
      "  lattice logs -f web");
  reg.Add(
      cmd, [cmd, f] { return RunLogs(*cmd, *f); }, /*workload_arg=*/true);
}

}  // namespace lattice::cli
