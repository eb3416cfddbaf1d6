// The client verbs of the `lattice` binary — login, deploy, ps, logs, start/stop/rm, nodes, … —
// which talk to a Lattice server over its HTTP API, never to its database. Register adds them
// to the root command; after parsing, Run executes whichever one the user chose.
//
// Exit codes: 0 ok, 1 the server said no or could not be reached, 2 the command line is wrong.
#pragma once

#include <CLI/CLI.hpp>

#include <memory>
#include <optional>

#include "cli/command.h"

namespace lattice::cli {

class ClientCommands {
 public:
  explicit ClientCommands(Registry reg) : reg_(std::move(reg)) {}
  // The exit code of the client verb that was parsed; nullopt if none was.
  std::optional<int> Run() const;

 private:
  Registry reg_;
};

// Adds every client verb to `app`. The result owns the options' storage: keep it alive until
// after Run.
std::unique_ptr<ClientCommands> Register(CLI::App& app);

}  // namespace lattice::cli
