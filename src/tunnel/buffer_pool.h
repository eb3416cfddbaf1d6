// Relay buffers: fixed-size blocks taken only while bytes are in flight and returned at once,
// so an idle tunneled connection holds no buffer at all. Each thread keeps a few free blocks for
// reuse (no locking); beyond that they go back to the allocator. Thread-safe by construction.
#pragma once

#include <cstddef>
#include <memory>

namespace lattice::tunnel {

inline constexpr std::size_t kRelayBufferBytes = 128 * 1024;

class RelayBuffer {
 public:
  RelayBuffer();   // takes a block from this thread's cache, or allocates one
  ~RelayBuffer();  // gives it back
  RelayBuffer(const RelayBuffer&) = delete;
  RelayBuffer& operator=(const RelayBuffer&) = delete;

  char* data() { return block_.get(); }
  static constexpr std::size_t size() { return kRelayBufferBytes; }

 private:
  std::unique_ptr<char[]> block_;
};

}  // namespace lattice::tunnel
