// The CLI's saved sign-in, and how a command decides which server and token to use.
//
// The file is $XDG_CONFIG_HOME/lattice/config.json (default ~/.config/lattice/config.json):
//   {"server": "http://127.0.0.1:8080", "email": "...", "token": "...", "expires_at": "..."}
// It holds a bearer token, so it is written atomically (temporary file + rename) with mode 0600
// inside a directory created with mode 0700. Functions here are stateless and thread-compatible.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "cli/http_transport.h"
#include "common/result.h"

namespace lattice::cli {

// The server a client verb talks to when nothing else says (the default `--listen`).
inline constexpr const char* kDefaultServer = "http://127.0.0.1:8080";

struct SavedLogin {
  std::string server;  // canonical URL (ServerUrl::ToString)
  std::string email;
  std::string token;  // empty after `lattice logout`
  std::string expires_at;
};

// $XDG_CONFIG_HOME/lattice/config.json, else $HOME/.config/lattice/config.json. Pass the
// variables' values (nullptr when unset). kInvalidArgument when neither is set.
Result<std::filesystem::path> ConfigPath(const char* xdg_config_home, const char* home);

// An absent file is an empty SavedLogin. kUnavailable when it cannot be read or is not JSON.
Result<SavedLogin> LoadConfig(const std::filesystem::path& path);

// Replaces the file atomically with mode 0600, creating its directory (0700) if needed.
Status SaveConfig(const std::filesystem::path& path, const SavedLogin& login);

// Where a command sends its requests.
struct Target {
  ServerUrl server;
  std::string token;  // empty: not signed in
  bool token_from_env = false;
};

// `flag_server` is --server (CLI11 fills it from $LATTICE_SERVER), `env_token` is
// $LATTICE_TOKEN. The server is the flag, else the saved one, else kDefaultServer. The token
// is $LATTICE_TOKEN, else the saved token — but only when it was issued by that same server, so a
// token is never sent to another host.
Result<Target> ResolveTarget(const std::string& flag_server, const char* env_token,
                             const SavedLogin& saved);

}  // namespace lattice::cli
