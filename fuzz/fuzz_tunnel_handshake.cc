// Fuzzes the tunnel's data-connection handshake: the first bytes anyone who completes TLS with
// the server's port can send. HandshakeLength must never accept more than kMaxHandshakeBytes,
// and whatever ParseHandshake accepts must re-encode to exactly the line it parsed.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "tunnel/handshake.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  namespace t = lattice::tunnel;
  auto len = t::HandshakeLength(input);
  if (len.ok() && *len > t::kMaxHandshakeBytes) std::abort();
  if (len.ok() && *len > 0) {
    const std::string_view line = input.substr(0, *len);
    if (auto c = t::ParseHandshake(line); c.ok() && t::EncodeHandshake(*c) != line) std::abort();
  }
  if (auto c = t::ParseHandshake(input); c.ok()) {
    auto again = t::ParseHandshake(t::EncodeHandshake(*c));
    if (!again.ok() || again->stream_id != c->stream_id || again->secret != c->secret) std::abort();
  }
  return 0;
}
