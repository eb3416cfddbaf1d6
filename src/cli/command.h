// What every client verb shares: exit codes, the --server and --output options, connecting
// with the saved sign-in, reporting errors, and finding a workload by name. Verbs live in one
// file per group (login.cc, deploy.cc, …) and register themselves through a Registry.
#pragma once

#include <CLI/CLI.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/api_client.h"
#include "common/result.h"

namespace lattice::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;  // the server said no, or could not be reached
inline constexpr int kExitUsage = 2;  // the command line is wrong

// A leaf command and what runs it. `workload_arg`: its NAME is an existing workload (shell
// completion offers the names from `lattice ps -q`).
struct Verb {
  CLI::App* cmd = nullptr;
  std::function<int()> run;
  bool workload_arg = false;
};

class Registry {
 public:
  void Add(CLI::App* cmd, std::function<int()> run, bool workload_arg = false) {
    verbs_.push_back({cmd, std::move(run), workload_arg});
  }
  const std::vector<Verb>& verbs() const { return verbs_; }

 private:
  std::vector<Verb> verbs_;
};

// Makes `group` (deploy, join-token, completion) a command that only holds subcommands: without
// one, or with an unknown one, it is a usage error listing the `noun`s to choose from. Call it
// after adding the subcommands (CLI11 copies a parent's settings into later subcommands).
void AddChoiceGroup(CLI::App& group, Registry& reg, const std::string& noun);

// "lattice deploy custom" for the `custom` subcommand of `deploy`.
std::string CommandPath(const CLI::App& cmd);

// Prints "lattice <verb>: <message>" (with field errors) on stderr; returns kExitError.
int Fail(const CLI::App& cmd, const Error& e);
// Prints the message and where to find the usage on stderr; returns kExitUsage.
int Usage(const CLI::App& cmd, const std::string& message);

// --server URL (default: $LATTICE_SERVER, then the server of the saved sign-in).
void AddServerOption(CLI::App& cmd, std::string& server);
// --output/-o table|json.
void AddOutputOption(CLI::App& cmd, std::string& output);
// `-w/--wait` and `--timeout SECONDS`.
void AddWaitOptions(CLI::App& cmd, bool& wait, int& timeout_seconds, const std::string& until);

// An API client for the chosen server, or the exit code after the error has been reported
// (kExitUsage for a malformed server URL; kExitError when `need_token` and not signed in).
struct Session {
  std::unique_ptr<ApiClient> client;
  int exit_code = kExitOk;
  explicit operator bool() const { return client != nullptr; }
  ApiClient* operator->() const { return client.get(); }
};
Session Connect(const CLI::App& cmd, const std::string& server_flag, bool need_token = true);

// The workload called `name_or_id` among the user's (names are unique per user; an id works
// too). kNotFound says how to list them.
Result<boost::json::object> FindWorkload(ApiClient& api, const std::string& name_or_id);

// The `items` array of a list response, as a value (empty if absent).
boost::json::array Items(const boost::json::value& list);

// One line of JSON on stdout.
void PrintJson(const boost::json::value& v);
// Writes `text` to stdout as is.
void Print(const std::string& text);

// Seconds since the Unix epoch.
std::int64_t Now();

}  // namespace lattice::cli
