// logs NAME [-f] [--tail N] [--since T] [--until T] [--grep TEXT] [--generation N] [-t]: a
// workload's output as its node keeps it (across container replacements and restarts),
// optionally followed as it is written.
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
  int tail = -1;  // -1: the server's default (100, or 10000 with --since/--until)
  std::string since;
  std::string until;
  std::string grep;
  long long generation = 0;
  bool timestamps = false;
};

std::string QueryEscape(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~' || c == ':') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

// One entry of format=json as the user reads it: the time first with --timestamps.
std::string EntryLine(const boost::json::object& e, bool timestamps) {
  std::string line;
  if (timestamps) {
    const auto* t = e.if_contains("time");
    line += t && t->is_string() ? std::string(t->as_string()) : std::string("-");
    line += ' ';
  }
  line += Text(e, "text");
  return line;
}

int RunLogs(const CLI::App& cmd, const LogsFlags& f) {
  Session s = Connect(cmd, f.server);
  if (!s) return s.exit_code;
  auto w = FindWorkload(*s.client, f.name);
  if (!w.ok()) return Fail(cmd, w.error());
  std::string path = "/api/v1/workloads/" + Text(*w, "id") + "/logs?";
  std::string query;
  auto add = [&](const std::string& k, const std::string& v) {
    query += (query.empty() ? "" : "&") + k + "=" + QueryEscape(v);
  };
  if (f.tail >= 0) add("tail", std::to_string(f.tail));
  if (!f.since.empty()) add("since", f.since);
  if (!f.until.empty()) add("until", f.until);
  if (!f.grep.empty()) add("q", f.grep);
  if (f.generation > 0) add("generation", std::to_string(f.generation));
  if (f.timestamps) add("format", "json");
  path += query;
  if (!f.follow) {
    if (!f.timestamps) {
      auto text = s->GetText(path);
      if (!text.ok()) return Fail(cmd, text.error());
      Print(*text);
      return kExitOk;
    }
    auto page = s->Get(path);
    if (!page.ok()) return Fail(cmd, page.error());
    std::string out;
    if (const auto* entries = page->as_object().if_contains("entries");
        entries && entries->is_array())
      for (const auto& e : entries->as_array())
        if (e.is_object()) out += EntryLine(e.as_object(), true) + "\n";
    Print(out);
    return kExitOk;
  }
  // Each `data:` line is one log line, printed as it arrives, until the stream ends or Ctrl-C.
  std::string stream_error;
  Status st = s->Events(path + (query.empty() ? "" : "&") + "follow=true", [&](const SseEvent& ev) {
    if (ev.type == "error") {
      stream_error = ev.data;
      return false;
    }
    if (!f.timestamps) {
      Print(ev.data + "\n");
      return true;
    }
    boost::system::error_code ec;
    auto v = boost::json::parse(ev.data, ec);
    Print((!ec && v.is_object() ? EntryLine(v.as_object(), true) : ev.data) + "\n");
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
                "Keep printing new lines as they are written, across restarts and replacements "
                "(Ctrl-C stops)");
  cmd->add_option("-n,--tail", f->tail,
                  "How many of the newest matching lines to print (default 100; 10000 with "
                  "--since or --until)")
      ->type_name("N")
      ->check(CLI::Range(0, 10000));
  cmd->add_option("--since", f->since,
                  "Only lines written at or after this: a time (2026-01-02T15:04:05Z) or a span "
                  "back from now (90s, 15m, 1h, 2d)")
      ->type_name("WHEN");
  cmd->add_option("--until", f->until, "Only lines written before this (as --since)")
      ->type_name("WHEN");
  cmd->add_option("--grep", f->grep, "Only lines containing TEXT (letters compare without case)")
      ->type_name("TEXT");
  cmd->add_option("--generation", f->generation,
                  "Only lines of this container generation (1 for the first container, one more "
                  "for each re-creation)")
      ->type_name("N")
      ->check(CLI::PositiveNumber);
  cmd->add_flag("-t,--timestamps", f->timestamps, "Print each line's time before it");
  AddServerOption(*cmd, f->server);
  cmd->footer(
      "The node keeps each workload's output (16 MiB by default), across container\n"
      "replacements, crashes and agent restarts; lines are printed exactly as written.\n\n"
      "Examples:\n"
      "  lattice logs web --tail 20\n"
      "  lattice logs web --since 1h --grep error\n"
      "  lattice logs -f web");
  reg.Add(
      cmd, [cmd, f] { return RunLogs(*cmd, *f); }, /*workload_arg=*/true);
}

}  // namespace lattice::cli
