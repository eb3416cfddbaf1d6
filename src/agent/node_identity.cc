#include "agent/node_identity.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace lattice::agent {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

std::string FilePath(const std::string& state_dir) {
  return (fs::path(state_dir) / "node.json").string();
}

Error OsError(const std::string& what) {
  return Error::Internal(what + ": " + std::strerror(errno));
}

// Writes all of `data` to `fd`.
bool WriteAll(int fd, const std::string& data) {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

Result<std::optional<NodeIdentity>> LoadNodeIdentity(const std::string& state_dir) {
  const std::string path = FilePath(state_dir);
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::error_code ec;
    if (!fs::exists(path, ec)) return std::optional<NodeIdentity>();
    return OsError("cannot read " + path);
  }
  std::stringstream text;
  text << in.rdbuf();
  boost::system::error_code ec;
  json::value v = json::parse(text.str(), ec);
  const json::object* o = ec ? nullptr : v.if_object();
  const json::value* id = o ? o->if_contains("node_id") : nullptr;
  const json::value* secret = o ? o->if_contains("node_secret") : nullptr;
  if (!id || !secret || !id->is_string() || !secret->is_string() || id->as_string().empty() ||
      secret->as_string().empty())
    return Error::Internal(path +
                           " is not a node identity (want {\"node_id\", \"node_secret\"}); "
                           "remove it to join again with a join token");
  const json::value* pin = o->if_contains("ca_fingerprint");
  if (pin && !pin->is_string())
    return Error::Internal(path + " has a ca_fingerprint that is not a string");
  NodeIdentity out{std::string(id->as_string()),
                   std::string(secret->as_string()),
                   pin ? std::string(pin->as_string()) : std::string(),
                   {}};
  if (const json::value* servers = o->if_contains("servers")) {
    const json::array* list = servers->if_array();
    if (!list) return Error::Internal(path + " has servers that are not a list");
    for (const auto& u : *list) {
      if (!u.is_string()) return Error::Internal(path + " has a server that is not a string");
      out.servers.emplace_back(u.as_string());
    }
  }
  return std::optional<NodeIdentity>(std::move(out));
}

Status SaveNodeIdentity(const std::string& state_dir, const NodeIdentity& id) {
  std::error_code ec;
  fs::create_directories(state_dir, ec);
  if (ec) return Error::Internal("cannot create " + state_dir + ": " + ec.message());
  ::chmod(state_dir.c_str(), 0700);  // best effort: the directory may be shared by design

  const std::string path = FilePath(state_dir);
  const std::string tmp = path + ".tmp";
  json::object o{{"node_id", id.node_id}, {"node_secret", id.node_secret}};
  if (!id.ca_fingerprint.empty()) o["ca_fingerprint"] = id.ca_fingerprint;
  if (!id.servers.empty()) o["servers"] = json::array(id.servers.begin(), id.servers.end());
  const std::string body = json::serialize(o) + "\n";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return OsError("cannot write " + tmp);
  // O_CREAT's mode does not apply to an existing file: make sure.
  const bool ok = ::fchmod(fd, 0600) == 0 && WriteAll(fd, body) && ::fsync(fd) == 0;
  const int saved = errno;
  ::close(fd);
  if (!ok) {
    errno = saved;
    Error e = OsError("cannot write " + tmp);
    ::unlink(tmp.c_str());
    return e;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Error e = OsError("cannot replace " + path);
    ::unlink(tmp.c_str());
    return e;
  }
  if (const int dir = ::open(state_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dir >= 0) {
    ::fsync(dir);  // make the rename durable
    ::close(dir);
  }
  return Status::Ok();
}

}  // namespace lattice::agent
