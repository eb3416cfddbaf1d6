// Secrets at rest: authenticated encryption (libsodium secretbox: XSalsa20-Poly1305) with a
// fresh random nonce per message. Sealed form: nonce || ciphertext. Thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace lattice {

// `key` must be 32 bytes (Keyring::secrets_key()).
std::string Seal(std::string_view plaintext, const std::string& key);

// kInternal if the sealed data is truncated, tampered with, or sealed under another key.
Result<std::string> Open(std::string_view sealed, const std::string& key);

}  // namespace lattice
