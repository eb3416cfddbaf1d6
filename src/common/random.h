// Cryptographically secure randomness (libsodium) for ids, tokens and generated secrets.
// Thread-safe. Call InitCrypto() once at start-up before any other function here.
#pragma once

#include <cstddef>
#include <string>

namespace lattice {

// Initialises libsodium; throws std::runtime_error if it cannot (fatal at start-up).
void InitCrypto();

// `n` random bytes.
std::string RandomBytes(std::size_t n);

// Unpadded base64url of `n` random bytes (URL- and header-safe).
std::string RandomToken(std::size_t n);

// A new resource id: `prefix` + '_' + 20 lowercase base32 characters (100 bits).
std::string NewId(const char* prefix);

// Unpadded base64url encoding/decoding. Decode returns false on invalid input.
std::string Base64UrlEncode(std::string_view bytes);
bool Base64UrlDecode(std::string_view text, std::string& out);

// Lowercase hex of `bytes`.
std::string HexEncode(std::string_view bytes);

// SHA-256 of `data`, raw 32 bytes.
std::string Sha256(std::string_view data);

}  // namespace lattice
