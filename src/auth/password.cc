#include "auth/password.h"

#include <sodium.h>

#include <algorithm>

namespace lattice::auth {

Result<std::string> HashPassword(std::string_view password) {
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(),
                            crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return Error::Unavailable("out of memory while hashing a password");
  }
  return std::string(out);
}

bool VerifyPassword(std::string_view password, const std::string& encoded) {
  return crypto_pwhash_str_verify(encoded.c_str(), password.data(), password.size()) == 0;
}

std::string PasswordPolicyViolation(std::string_view password) {
  std::size_t code_points = 0;
  for (unsigned char c : password)
    if ((c & 0xC0) != 0x80) ++code_points;
  if (code_points < 10) return "must be at least 10 characters";
  if (code_points > 256) return "must be at most 256 characters";
  return "";
}

std::string NormalizeEmail(std::string_view email) {
  auto is_space = [](unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r'); };
  while (!email.empty() && is_space(email.front())) email.remove_prefix(1);
  while (!email.empty() && is_space(email.back())) email.remove_suffix(1);
  if (email.size() < 3 || email.size() > 254) return "";
  std::string out;
  out.reserve(email.size());
  for (unsigned char c : email) {
    if (c <= 0x20 || c == 0x7f) return "";
    out += static_cast<char>(c < 0x80 ? std::tolower(c) : c);
  }
  const auto at = out.find('@');
  if (at == std::string::npos || at == 0 || out.find('@', at + 1) != std::string::npos) return "";
  const std::string_view domain = std::string_view(out).substr(at + 1);
  const auto dot = domain.find('.');
  if (dot == std::string_view::npos || dot == 0 || domain.back() == '.' ||
      domain.find("..") != std::string_view::npos)
    return "";
  return out;
}

}  // namespace lattice::auth
