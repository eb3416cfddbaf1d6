#include "tunnel/handshake.h"

#include <algorithm>

namespace lattice::tunnel {
namespace {

bool IsIdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}
bool IsSecretChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

}  // namespace

std::string EncodeHandshake(const StreamCredential& c) {
  std::string out(kHandshakeMagic);
  out += c.stream_id;
  out += ' ';
  out += c.secret;
  out += '\n';
  return out;
}

Result<std::size_t> HandshakeLength(std::string_view bytes) {
  const std::size_t prefix = std::min(bytes.size(), kHandshakeMagic.size());
  if (bytes.substr(0, prefix) != kHandshakeMagic.substr(0, prefix))
    return Error::Invalid("not a tunnel handshake");
  const auto nl = bytes.find('\n');
  if (nl == std::string_view::npos) {
    if (bytes.size() >= kMaxHandshakeBytes) return Error::Invalid("tunnel handshake too long");
    return std::size_t{0};
  }
  if (nl + 1 > kMaxHandshakeBytes) return Error::Invalid("tunnel handshake too long");
  return nl + 1;
}

Result<StreamCredential> ParseHandshake(std::string_view line) {
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  // The limit holds for the line as sent, newline included, with or without it here: what is
  // accepted must encode to a line HandshakeLength accepts too.
  if (line.size() + 1 > kMaxHandshakeBytes) return Error::Invalid("tunnel handshake too long");
  if (line.substr(0, kHandshakeMagic.size()) != kHandshakeMagic)
    return Error::Invalid("not a tunnel handshake");
  line.remove_prefix(kHandshakeMagic.size());
  const auto space = line.find(' ');
  if (space == std::string_view::npos) return Error::Invalid("tunnel handshake lacks a secret");
  const std::string_view id = line.substr(0, space);
  const std::string_view secret = line.substr(space + 1);
  if (id.size() < 4 || id.substr(0, 3) != "st_" || !std::all_of(id.begin(), id.end(), IsIdChar))
    return Error::Invalid("tunnel handshake has a malformed stream id");
  if (secret.size() < 16 || !std::all_of(secret.begin(), secret.end(), IsSecretChar))
    return Error::Invalid("tunnel handshake has a malformed secret");
  return StreamCredential{std::string(id), std::string(secret)};
}

}  // namespace lattice::tunnel
