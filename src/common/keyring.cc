#include "common/keyring.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/random.h"

namespace lattice {
namespace {

constexpr char kContext[crypto_kdf_CONTEXTBYTES + 1] = "lattice1";

std::string Derive(const std::string& master, std::uint64_t id) {
  std::string out(32, '\0');
  crypto_kdf_derive_from_key(reinterpret_cast<unsigned char*>(out.data()), out.size(), id, kContext,
                             reinterpret_cast<const unsigned char*>(master.data()));
  return out;
}

}  // namespace

Keyring Keyring::FromMaster(std::string master) {
  Keyring k;
  k.token_key_ = Derive(master, 1);
  k.secrets_key_ = Derive(master, 2);
  sodium_memzero(master.data(), master.size());
  return k;
}

Result<Keyring> Keyring::LoadOrCreate(const std::string& path) {
  if (::access(path.c_str(), F_OK) != 0) {
    // Write a complete key to a temporary file, then link() it into place: link fails if the
    // key appeared meanwhile, so concurrent first starts agree on one key and nobody ever
    // reads a half-written file.
    const std::string tmp = path + ".tmp." + RandomToken(6);
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return Error::Unavailable("cannot create " + tmp + ": " + std::strerror(errno));
    const std::string key = RandomBytes(crypto_kdf_KEYBYTES);
    const bool ok =
        ::write(fd, key.data(), key.size()) == static_cast<ssize_t>(key.size()) && ::fsync(fd) == 0;
    ::close(fd);
    const bool linked = ok && ::link(tmp.c_str(), path.c_str()) == 0;
    const int link_errno = errno;
    ::unlink(tmp.c_str());
    if (!ok) return Error::Unavailable("cannot write master key " + path);
    if (!linked && link_errno != EEXIST)
      return Error::Unavailable("cannot install master key " + path + ": " +
                                std::strerror(link_errno));
  }
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return Error::Unavailable("cannot open master key " + path + ": " + std::strerror(errno));
  std::string key(crypto_kdf_KEYBYTES + 1, '\0');
  const ssize_t n = ::read(fd, key.data(), key.size());
  ::close(fd);
  if (n != static_cast<ssize_t>(crypto_kdf_KEYBYTES))
    return Error::Unavailable("master key " + path + " is corrupt (expected 32 bytes)");
  key.resize(crypto_kdf_KEYBYTES);
  return FromMaster(std::move(key));
}

}  // namespace lattice
