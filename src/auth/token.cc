#include "auth/token.h"

#include <sodium.h>

#include <charconv>
#include <vector>

#include "common/random.h"

namespace lattice::auth {
namespace {

constexpr std::string_view kPrefix = "lt1";

std::string Mac(std::string_view payload, const std::string& key) {
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, reinterpret_cast<const unsigned char*>(key.data()), key.size());
  crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>(payload.data()),
                                payload.size());
  crypto_auth_hmacsha256_final(&st, mac);
  return std::string(reinterpret_cast<char*>(mac), sizeof mac);
}

bool IsTokenChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
}

}  // namespace

std::string SignToken(const TokenClaims& c, const std::string& key) {
  std::string payload = std::string(kPrefix) + "." + c.session_id + "." + c.secret + "." +
                        std::to_string(c.expires_at);
  return payload + "." + Base64UrlEncode(Mac(payload, key));
}

std::optional<TokenClaims> VerifyTokenSignature(std::string_view token, const std::string& key) {
  if (token.size() > 512) return std::nullopt;
  const auto last = token.rfind('.');
  if (last == std::string_view::npos) return std::nullopt;
  const std::string_view payload = token.substr(0, last);
  std::string sig;
  if (!Base64UrlDecode(token.substr(last + 1), sig) || sig.size() != crypto_auth_hmacsha256_BYTES)
    return std::nullopt;
  const std::string expected = Mac(payload, key);
  if (sodium_memcmp(sig.data(), expected.data(), expected.size()) != 0) return std::nullopt;

  // The signature is valid, so the payload is ours; parse it defensively all the same.
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (parts.size() < 5) {
    const auto dot = payload.find('.', start);
    parts.push_back(payload.substr(start, dot == std::string_view::npos ? dot : dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  if (parts.size() != 4 || parts[0] != kPrefix) return std::nullopt;
  for (int i : {1, 2}) {
    if (parts[i].empty()) return std::nullopt;
    for (char ch : parts[i])
      if (!IsTokenChar(ch)) return std::nullopt;
  }
  TokenClaims c{std::string(parts[1]), std::string(parts[2]), 0};
  const auto [p, ec] =
      std::from_chars(parts[3].data(), parts[3].data() + parts[3].size(), c.expires_at);
  if (ec != std::errc() || p != parts[3].data() + parts[3].size()) return std::nullopt;
  return c;
}

std::string HashSecret(std::string_view secret) {
  return HexEncode(Sha256(secret));
}

}  // namespace lattice::auth
