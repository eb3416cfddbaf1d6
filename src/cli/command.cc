#include "cli/command.h"

#include <boost/json.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "cli/config.h"

namespace lattice::cli {
namespace json = boost::json;

std::string CommandPath(const CLI::App& cmd) {
  std::string path;
  for (const CLI::App* a = &cmd; a != nullptr; a = a->get_parent()) {
    const std::string name = a->get_parent() ? a->get_name() : "lattice";
    path = path.empty() ? name : name + " " + path;
  }
  return path;
}

void AddChoiceGroup(CLI::App& group, Registry& reg, const std::string& noun) {
  group.allow_extras();
  CLI::App* g = &group;
  reg.Add(g, [g, noun] {
    std::string choices;
    for (const CLI::App* sub : g->get_subcommands([](CLI::App*) { return true; }))
      choices += (choices.empty() ? "" : ", ") + sub->get_name();
    const std::vector<std::string> extras = g->remaining();
    if (extras.empty()) return Usage(*g, "choose one of: " + choices);
    return Usage(*g, "unknown " + noun + " '" + extras.front() + "'; choose one of: " + choices);
  });
}

int Fail(const CLI::App& cmd, const Error& e) {
  std::fprintf(stderr, "%s: %s\n", CommandPath(cmd).c_str(), FormatError(e).c_str());
  return kExitError;
}

int Usage(const CLI::App& cmd, const std::string& message) {
  const std::string path = CommandPath(cmd);
  std::fprintf(stderr, "%s: %s\nRun `%s --help` for usage.\n", path.c_str(), message.c_str(),
               path.c_str());
  return kExitUsage;
}

void AddServerOption(CLI::App& cmd, std::string& server) {
  cmd.add_option("--server", server,
                 "Lattice server URL, e.g. http://127.0.0.1:8080 (default: the one you signed in "
                 "to)")
      ->envname("LATTICE_SERVER")
      ->type_name("URL");
}

void AddOutputOption(CLI::App& cmd, std::string& output) {
  cmd.add_option("-o,--output", output, "Output format: table (for people) or json (for scripts)")
      ->type_name("FORMAT")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
}

void AddWaitOptions(CLI::App& cmd, bool& wait, int& timeout_seconds, const std::string& until) {
  cmd.add_flag("-w,--wait", wait, "Wait until the workload is " + until + ", showing progress");
  cmd.add_option("--timeout", timeout_seconds, "With --wait: give up after this many seconds")
      ->type_name("SECONDS")
      ->check(CLI::Range(1, 24 * 3600))
      ->capture_default_str();
}

Session Connect(const CLI::App& cmd, const std::string& server_flag, bool need_token) {
  Session s;
  SavedLogin saved;
  auto path = ConfigPath(std::getenv("XDG_CONFIG_HOME"), std::getenv("HOME"));
  if (path.ok()) {
    auto loaded = LoadConfig(*path);
    if (!loaded.ok()) {
      s.exit_code = Fail(cmd, loaded.error());
      return s;
    }
    saved = std::move(loaded).value();
  }
  auto target = ResolveTarget(server_flag, std::getenv("LATTICE_TOKEN"), saved);
  if (!target.ok()) {
    s.exit_code = Usage(cmd, target.error().message);
    return s;
  }
  const std::string url = target->server.ToString();
  if (need_token && target->token.empty()) {
    const std::string flag = url == kDefaultServer ? "" : " --server " + url;
    s.exit_code =
        Fail(cmd, Error::Unauthenticated("not signed in to " + url + ": run `lattice login" + flag +
                                         " --email you@example.com`"));
    return s;
  }
  auto transport = NewHttpTransport(target->server);
  if (!transport.ok()) {
    s.exit_code = Usage(cmd, transport.error().message);
    return s;
  }
  s.client =
      std::make_unique<ApiClient>(target->server, target->token, std::move(transport).value());
  return s;
}

json::array Items(const json::value& list) {
  if (!list.is_object()) return {};
  const json::value* items = list.as_object().if_contains("items");
  return items && items->is_array() ? items->as_array() : json::array{};
}

Result<json::object> FindWorkload(ApiClient& api, const std::string& name_or_id) {
  auto list = api.Get("/api/v1/workloads");
  if (!list.ok()) return std::move(list).error();
  const json::array items = Items(*list);
  for (const std::string_view key : {"name", "id"}) {
    for (const auto& w : items) {
      if (!w.is_object()) continue;
      const json::value* v = w.as_object().if_contains(key);
      if (v && v->is_string() && v->as_string() == name_or_id) return w.as_object();
    }
  }
  return Error::NotFound("no workload named '" + name_or_id + "' — `lattice ps` lists yours");
}

void PrintJson(const json::value& v) {
  Print(json::serialize(v) + "\n");
}

void Print(const std::string& text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

std::int64_t Now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace lattice::cli
