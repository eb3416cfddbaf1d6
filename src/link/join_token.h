// Join tokens: what an administrator hands to a new node, and the only thing the node needs to
// trust the server.
//
//   ljt1.<secret>.<ca fingerprint>
//
// `secret` is 32 random bytes and `ca fingerprint` the SHA-256 of the server CA certificate's
// DER encoding, both unpadded base64url (43 characters; the alphabet has no '.'). The server
// stores only the SHA-256 of the whole token, so the pin is bound to the secret; the agent
// pins the fingerprint for its TLS connections (src/tls/pinned_client.h). Pure functions.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace lattice::link {

inline constexpr std::string_view kJoinTokenPrefix = "ljt1.";

struct JoinToken {
  std::string secret;
  std::string ca_fingerprint;
};

std::string FormatJoinToken(std::string_view secret, std::string_view ca_fingerprint);

// kInvalidArgument (with a message an operator can act on) unless `token` has the format above.
Result<JoinToken> ParseJoinToken(std::string_view token);

}  // namespace lattice::link
