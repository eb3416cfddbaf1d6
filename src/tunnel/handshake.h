// The data-connection handshake of a tunnel stream. When the edge asks an agent to carry one
// outside connection (`stream.open` on the agent link, with a stream id and a one-time secret),
// the agent dials the edge over TLS and, before any payload, sends one line:
//
//   LTUN1 <stream-id> <secret>\n
//
// The edge answers nothing: a good token starts the relay, anything else closes the connection.
// Stream ids are `st_` + lowercase base32, secrets unpadded base64url; the whole line is at most
// kMaxHandshakeBytes. Pure; thread-safe; ParseHandshake never throws.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/result.h"

namespace lattice::tunnel {

inline constexpr std::string_view kHandshakeMagic = "LTUN1 ";
inline constexpr std::size_t kMaxHandshakeBytes = 160;

struct StreamCredential {
  std::string stream_id;
  std::string secret;
};

// The handshake line, newline included.
std::string EncodeHandshake(const StreamCredential& c);

// Parses one line (with or without its trailing '\n'). kInvalidArgument names what is wrong.
Result<StreamCredential> ParseHandshake(std::string_view line);

// Where the line ends in `bytes` read so far: the index one past '\n', 0 if more bytes are
// needed, or kInvalidArgument once the input cannot become a handshake (wrong magic, too long).
Result<std::size_t> HandshakeLength(std::string_view bytes);

}  // namespace lattice::tunnel
