// login, logout, whoami: the sign-in kept in the user's config directory.
#include <boost/json.hpp>

#include <cstdio>
#include <cstdlib>

#include "cli/config.h"
#include "cli/terminal.h"
#include "cli/verbs.h"
#include "cli/views.h"

namespace lattice::cli {
namespace json = boost::json;

namespace {

constexpr const char* kGroup = "Account";

struct LoginFlags {
  std::string server;
  std::string email;
  bool password_stdin = false;
};

// The config file and what it holds; errors are reported and turned into an exit code.
struct Saved {
  std::filesystem::path path;
  SavedLogin login;
  int exit_code = kExitOk;
};

Saved LoadSaved(const CLI::App& cmd) {
  Saved s;
  auto path = ConfigPath(std::getenv("XDG_CONFIG_HOME"), std::getenv("HOME"));
  if (!path.ok()) {
    s.exit_code = Fail(cmd, path.error());
    return s;
  }
  s.path = *path;
  auto login = LoadConfig(s.path);
  if (!login.ok()) {
    s.exit_code = Fail(cmd, login.error());
    return s;
  }
  s.login = std::move(login).value();
  return s;
}

int RunLogin(const CLI::App& cmd, const LoginFlags& f) {
  Saved saved = LoadSaved(cmd);
  if (saved.exit_code != kExitOk) return saved.exit_code;
  const std::string chosen = !f.server.empty()             ? f.server
                             : !saved.login.server.empty() ? saved.login.server
                                                           : kDefaultServer;
  auto url = ParseServerUrl(chosen);
  if (!url.ok()) return Usage(cmd, url.error().message);

  std::string email = f.email;
  if (email.empty() && !f.password_stdin && StdinIsTerminal())
    email = PromptLine("Email: ").value_or("");
  if (email.empty()) return Usage(cmd, "--email is required");

  std::optional<std::string> password;
  if (f.password_stdin) {
    password = ReadStdinLine();
    if (!password || password->empty()) return Usage(cmd, "--password-stdin: stdin was empty");
  } else if (StdinIsTerminal()) {
    password = PromptPassword("Password for " + email + ": ");
    if (!password || password->empty()) return Usage(cmd, "no password given");
  } else {
    return Usage(cmd,
                 "stdin is not a terminal, so there is no one to ask for a password: pipe it in "
                 "with --password-stdin, e.g. `lattice login --email " +
                     email + " --password-stdin < password.txt`");
  }

  auto transport = NewHttpTransport(*url);
  if (!transport.ok()) return Usage(cmd, transport.error().message);
  ApiClient api(*url, "", std::move(transport).value());
  auto r = api.Post("/api/v1/auth/login", json::object{{"email", email}, {"password", *password}});
  if (!r.ok()) return Fail(cmd, r.error());
  if (!r->is_object() || !r->as_object().contains("user") || !r->as_object().at("user").is_object())
    return Fail(cmd, Error::Unavailable("the server's answer has no user in it — is " +
                                        url->ToString() + " a Lattice server?"));
  const json::object& body = r->as_object();
  const json::object& user = body.at("user").as_object();
  SavedLogin login{url->ToString(), Text(user, "email"), Text(body, "token"),
                   Text(body, "expires_at")};
  if (Status s = SaveConfig(saved.path, login); !s.ok()) return Fail(cmd, s.error());
  Print("Signed in to " + login.server + " as " + login.email + " (" + Text(user, "role") +
        "); the session lasts until " + login.expires_at + ".\n");
  if (const char* t = std::getenv("LATTICE_TOKEN"); t && *t)
    std::fprintf(stderr, "note: LATTICE_TOKEN is set and takes precedence over this sign-in\n");
  return kExitOk;
}

int RunLogout(const CLI::App& cmd, const std::string& server_flag) {
  Saved saved = LoadSaved(cmd);
  if (saved.exit_code != kExitOk) return saved.exit_code;
  auto target = ResolveTarget(server_flag, std::getenv("LATTICE_TOKEN"), saved.login);
  if (!target.ok()) return Usage(cmd, target.error().message);
  const std::string url = target->server.ToString();
  if (target->token.empty()) {
    Print("Not signed in to " + url + ".\n");
    return kExitOk;
  }
  // Forget the saved token first: whatever the server says, this machine no longer holds it.
  if (!target->token_from_env) {
    saved.login.token.clear();
    saved.login.expires_at.clear();
    if (Status s = SaveConfig(saved.path, saved.login); !s.ok()) return Fail(cmd, s.error());
  }
  auto transport = NewHttpTransport(target->server);
  if (!transport.ok()) return Usage(cmd, transport.error().message);
  ApiClient api(target->server, target->token, std::move(transport).value());
  auto r = api.Post("/api/v1/auth/logout");
  if (!r.ok() && r.error().code != ErrorCode::kUnauthenticated) {
    return Fail(cmd, Error::Unavailable("signed out on this machine, but the server could not "
                                        "end the session, which stays valid until it expires: " +
                                        r.error().message));
  }
  Print("Signed out of " + url + ".\n");
  if (target->token_from_env)
    std::fprintf(stderr, "note: the session came from LATTICE_TOKEN; unset it too\n");
  return kExitOk;
}

int RunWhoami(const CLI::App& cmd, const std::string& server_flag, const std::string& output) {
  Session s = Connect(cmd, server_flag);
  if (!s) return s.exit_code;
  auto me = s->Get("/api/v1/auth/me");
  if (!me.ok()) return Fail(cmd, me.error());
  if (output == "json") {
    PrintJson(*me);
  } else {
    if (!me->is_object()) return Fail(cmd, Error::Unavailable("the server's answer is not a user"));
    const json::object& u = me->as_object();
    Print(Text(u, "email") + " (" + Text(u, "role") + ") on " + s->server().ToString() + "\n");
  }
  return kExitOk;
}

}  // namespace

void AddLoginVerbs(CLI::App& app, Registry& reg) {
  auto login = std::make_shared<LoginFlags>();
  CLI::App* cmd =
      app.add_subcommand("login", "Sign in to a Lattice server and remember the session");
  cmd->group(kGroup);
  AddServerOption(*cmd, login->server);
  cmd->add_option("--email", login->email, "Your account's email (asked for on a terminal)")
      ->type_name("EMAIL");
  cmd->add_flag("--password-stdin", login->password_stdin,
                "Read the password from stdin instead of prompting (for scripts)");
  cmd->footer(
      "The session token is kept in $XDG_CONFIG_HOME/lattice/config.json (mode 0600).\n"
      "LATTICE_SERVER and LATTICE_TOKEN override it.\n\n"
      "Examples:\n"
      "  lattice login --server http://127.0.0.1:8080 --email you@example.com\n"
      "  lattice login --email ci@example.com --password-stdin < password.txt");
  reg.Add(cmd, [cmd, login] { return RunLogin(*cmd, *login); });

  auto logout_server = std::make_shared<std::string>();
  CLI::App* out = app.add_subcommand("logout", "End the session and forget its token");
  out->group(kGroup);
  AddServerOption(*out, *logout_server);
  out->footer("Example:\n  lattice logout");
  reg.Add(out, [out, logout_server] { return RunLogout(*out, *logout_server); });

  struct WhoamiFlags {
    std::string server;
    std::string output = "table";
  };
  auto who = std::make_shared<WhoamiFlags>();
  CLI::App* w = app.add_subcommand("whoami", "Show who you are signed in as, and where");
  w->group(kGroup);
  AddServerOption(*w, who->server);
  AddOutputOption(*w, who->output);
  w->footer("Example:\n  lattice whoami --output json");
  reg.Add(w, [w, who] { return RunWhoami(*w, who->server, who->output); });
}

}  // namespace lattice::cli
