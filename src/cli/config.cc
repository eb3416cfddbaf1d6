#include "cli/config.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace lattice::cli {
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

std::string StringField(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

Error IoError(const std::string& what, const fs::path& path) {
  return Error::Unavailable("cannot " + what + " " + path.string() + ": " + std::strerror(errno) +
                            " — check the permissions of that directory");
}

Status WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Error::Unavailable(std::strerror(errno));
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return Status::Ok();
}

}  // namespace

Result<fs::path> ConfigPath(const char* xdg_config_home, const char* home) {
  // XDG: a relative value is invalid and must be ignored.
  if (xdg_config_home && xdg_config_home[0] == '/')
    return fs::path(xdg_config_home) / "lattice" / "config.json";
  if (home && home[0] != '\0') return fs::path(home) / ".config" / "lattice" / "config.json";
  return Error::Invalid("cannot find a config directory: set XDG_CONFIG_HOME or HOME");
}

Result<SavedLogin> LoadConfig(const fs::path& path) {
  std::error_code exists_ec;
  if (!fs::exists(path, exists_ec) && !exists_ec) return SavedLogin{};
  std::ifstream in(path, std::ios::binary);
  if (!in) return IoError("read", path);
  std::stringstream text;
  text << in.rdbuf();
  boost::system::error_code ec;
  json::value v = json::parse(text.str(), ec);
  if (ec || !v.is_object())
    return Error::Unavailable(path.string() +
                              " is not valid JSON; delete it and run `lattice login` again");
  const json::object& o = v.as_object();
  return SavedLogin{StringField(o, "server"), StringField(o, "email"), StringField(o, "token"),
                    StringField(o, "expires_at")};
}

Status SaveConfig(const fs::path& path, const SavedLogin& login) {
  const fs::path dir = path.parent_path();
  std::error_code ec;
  if (!fs::exists(dir, ec)) {
    fs::create_directories(dir, ec);
    if (ec) return Error::Unavailable("cannot create " + dir.string() + ": " + ec.message());
    fs::permissions(dir, fs::perms::owner_all, ec);
  }
  const json::object body{{"server", login.server},
                          {"email", login.email},
                          {"token", login.token},
                          {"expires_at", login.expires_at}};
  const std::string text = json::serialize(body) + "\n";
  const fs::path tmp = path.string() + ".tmp-" + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return IoError("write", tmp);
  // The mode of an existing file (a leftover temporary) is not changed by open(): force it.
  Status s =
      ::fchmod(fd, 0600) == 0 ? WriteAll(fd, text) : Error::Unavailable(std::strerror(errno));
  if (s.ok() && ::fsync(fd) != 0) s = Error::Unavailable(std::strerror(errno));
  if (::close(fd) != 0 && s.ok()) s = Error::Unavailable(std::strerror(errno));
  if (s.ok() && ::rename(tmp.c_str(), path.c_str()) != 0)
    s = Error::Unavailable(std::strerror(errno));
  if (!s.ok()) {
    ::unlink(tmp.c_str());
    return Error::Unavailable("cannot write " + path.string() + ": " + s.error().message);
  }
  return Status::Ok();
}

Result<Target> ResolveTarget(const std::string& flag_server, const char* env_token,
                             const SavedLogin& saved) {
  const std::string& chosen =
      !flag_server.empty() ? flag_server : (!saved.server.empty() ? saved.server : kDefaultServer);
  auto url = ParseServerUrl(chosen);
  if (!url.ok()) return std::move(url).error();
  Target t{*url, "", false};
  if (env_token && env_token[0] != '\0') {
    t.token = env_token;
    t.token_from_env = true;
  } else if (!saved.token.empty()) {
    auto saved_url = ParseServerUrl(saved.server);
    if (saved_url.ok() && saved_url->ToString() == url->ToString()) t.token = saved.token;
  }
  return t;
}

}  // namespace lattice::cli
