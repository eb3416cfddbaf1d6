#include "cli/cli.h"

#include "cli/verbs.h"

namespace lattice::cli {

std::optional<int> ClientCommands::Run() const {
  // The deepest command parsed: `deploy postgres` runs postgres, not the deploy group.
  for (const Verb& v : reg_.verbs()) {
    if (!v.cmd->parsed() || !v.cmd->get_subcommands().empty()) continue;
    // A group lets unknown words through (to name them in its own error); below it they are
    // mistakes: `deploy postgres db --bogus`.
    for (const CLI::App* up = v.cmd->get_parent(); up != nullptr; up = up->get_parent()) {
      if (!up->remaining().empty())
        return Usage(*v.cmd, "unexpected argument '" + up->remaining().front() + "'");
    }
    // The one catch-all: a verb reports its own errors; anything else is a bug to report.
    try {
      return v.run();
    } catch (const std::exception& e) {
      return Fail(*v.cmd, Error::Internal(std::string("unexpected failure (please report it): ") +
                                          e.what()));
    }
  }
  return std::nullopt;
}

std::unique_ptr<ClientCommands> Register(CLI::App& app) {
  // Parse errors name the command that failed and where its usage is.
  app.failure_message([](const CLI::App* root, const CLI::Error& e) {
    const CLI::App* deepest = root;
    while (!deepest->get_subcommands().empty()) deepest = deepest->get_subcommands().back();
    const std::string path = CommandPath(*deepest);
    return path + ": " + e.what() + "\nRun `" + path + " --help` for usage.\n";
  });
  Registry reg;
  AddLoginVerbs(app, reg);
  AddDeployVerbs(app, reg);
  AddListVerbs(app, reg);
  AddLogsVerb(app, reg);
  AddMetricsVerb(app, reg);
  AddLifecycleVerbs(app, reg);
  AddNodeVerbs(app, reg);
  AddAdminVerbs(app, reg);
  AddBackupVerbs(app, reg);
  AddNotifyVerbs(app, reg);
  AddCompletionVerb(app, reg);  // last: it describes everything above
  return std::make_unique<ClientCommands>(std::move(reg));
}

}  // namespace lattice::cli
