#include "tunnel/buffer_pool.h"

#include <vector>

namespace lattice::tunnel {
namespace {

constexpr std::size_t kCachedPerThread = 8;

std::vector<std::unique_ptr<char[]>>& Cache() {
  thread_local std::vector<std::unique_ptr<char[]>> cache;
  return cache;
}

}  // namespace

RelayBuffer::RelayBuffer() {
  auto& cache = Cache();
  if (!cache.empty()) {
    block_ = std::move(cache.back());
    cache.pop_back();
  } else {
    block_ = std::make_unique_for_overwrite<char[]>(kRelayBufferBytes);
  }
}

RelayBuffer::~RelayBuffer() {
  auto& cache = Cache();
  if (block_ && cache.size() < kCachedPerThread) cache.push_back(std::move(block_));
}

}  // namespace lattice::tunnel
