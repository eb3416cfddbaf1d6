#include "link/join_token.h"

#include "common/random.h"

namespace lattice::link {
namespace {

bool IsBase64Url32(std::string_view s) {
  std::string raw;
  return s.size() == 43 && Base64UrlDecode(s, raw) && raw.size() == 32;
}

}  // namespace

std::string FormatJoinToken(std::string_view secret, std::string_view ca_fingerprint) {
  std::string t(kJoinTokenPrefix);
  t.append(secret).append(".").append(ca_fingerprint);
  return t;
}

Result<JoinToken> ParseJoinToken(std::string_view token) {
  if (token.rfind("ljt_", 0) == 0)
    return Error::Invalid(
        "this join token comes from an older server and carries no CA fingerprint to pin: "
        "create a new one (lattice join-token create)");
  const auto bad = Error::Invalid(
      "the join token is malformed (want ljt1.<secret>.<CA fingerprint>, exactly as the server "
      "printed it)");
  if (token.substr(0, kJoinTokenPrefix.size()) != kJoinTokenPrefix) return bad;
  const std::string_view rest = token.substr(kJoinTokenPrefix.size());
  const auto dot = rest.find('.');
  if (dot == std::string_view::npos) return bad;
  JoinToken t{std::string(rest.substr(0, dot)), std::string(rest.substr(dot + 1))};
  if (!IsBase64Url32(t.secret) || !IsBase64Url32(t.ca_fingerprint)) return bad;
  return t;
}

}  // namespace lattice::link
