// Bearer tokens: `lt1.<session id>.<secret>.<expiry>.<signature>`.
// The signature (HMAC-SHA256 under the keyring's token key) lets the server reject forged or
// altered tokens without touching the database; the session id names a revocable session row;
// the secret is stored only as a hash, so a copy of the database yields no usable token.
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lattice::auth {

struct TokenClaims {
  std::string session_id;
  std::string secret;
  std::int64_t expires_at = 0;
};

// Encodes and signs `claims`.
std::string SignToken(const TokenClaims& claims, const std::string& key);

// Parses and checks the signature (constant time). Does NOT check expiry or revocation.
std::optional<TokenClaims> VerifyTokenSignature(std::string_view token, const std::string& key);

// Hex SHA-256 of a token secret, as stored in the session row.
std::string HashSecret(std::string_view secret);

}  // namespace lattice::auth
