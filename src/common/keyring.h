// Keyring: the server's master key and the purpose-specific keys derived from it (token
// signing, secrets at rest). The master key is 32 random bytes in a file (mode 0600) created at
// first start; replicas that share a database must share this file. Immutable after load.
#pragma once

#include <string>

#include "common/result.h"

namespace lattice {

class Keyring {
 public:
  // Loads `path`, creating it with a fresh random key if it does not exist.
  static Result<Keyring> LoadOrCreate(const std::string& path);
  // A keyring over a given 32-byte master key (tests).
  static Keyring FromMaster(std::string master);

  // 32-byte key for HMAC-signing bearer tokens.
  const std::string& token_key() const { return token_key_; }
  // 32-byte key for encrypting secrets at rest (libsodium secretbox).
  const std::string& secrets_key() const { return secrets_key_; }

 private:
  std::string token_key_;
  std::string secrets_key_;
};

}  // namespace lattice
