// Fuzzes the agent-link decoder: every byte an agent (or something pretending to be one) can
// send the server before and after hello, and everything a server sends an agent.
// Round-trip property: whatever decodes must re-encode to something that decodes the same.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "link/protocol.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto msg = lattice::link::Decode(input);
  if (!msg.ok()) return 0;
  const std::string again = lattice::link::Encode(*msg);
  auto back = lattice::link::Decode(again);
  if (!back.ok() || back->index() != msg->index() || lattice::link::Encode(*back) != again)
    std::abort();
  (void)lattice::link::DecodeSpec(input);
  return 0;
}
