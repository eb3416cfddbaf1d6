#include "cli/completion.h"

#include <gtest/gtest.h>

namespace lattice::cli {
namespace {

bool Contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

TEST(cli_completion, DescribesEveryCommandOptionAndChoice) {
  CLI::App app{"test", "lattice"};
  std::string out, name;
  bool flag = false;
  CLI::App* ps = app.add_subcommand("ps", "list");
  ps->add_option("-o,--output", out)->check(CLI::IsMember({"table", "json"}));
  ps->add_flag("-q,--quiet", flag);
  CLI::App* deploy = app.add_subcommand("deploy", "deploy");
  CLI::App* custom = deploy->add_subcommand("custom", "custom");
  custom->add_option("--image", out);
  custom->add_option("NAME", name);
  CLI::App* logs = app.add_subcommand("logs", "logs");
  logs->add_option("NAME", name);

  const std::string script = BashCompletion(app, {logs});
  EXPECT_TRUE(Contains(script, "/ps|/deploy|/deploy/custom|/logs) path=")) << script;
  EXPECT_TRUE(Contains(script, "\"\") words=\"ps deploy logs --help -h\"")) << script;
  EXPECT_TRUE(Contains(script,
                       "\"/ps\") words=\"--help -h --output -o --quiet -q\"; "
                       "values=\"--output -o\"; workloads=0"))
      << script;
  EXPECT_TRUE(Contains(script, "\"/ps --output\") COMPREPLY=($(compgen -W \"table json\""));
  EXPECT_TRUE(Contains(script,
                       "\"/deploy/custom\") words=\"--help -h --image\"; "
                       "values=\"--image\"; workloads=0"))
      << script;
  EXPECT_TRUE(Contains(script, "\"/logs\") words=\"--help -h\"; values=\"\"; workloads=1"));
  EXPECT_TRUE(Contains(script, "complete -F _lattice lattice\n"));
}

}  // namespace
}  // namespace lattice::cli
