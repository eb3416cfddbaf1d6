// Exponential backoff with full jitter (the AWS Architecture Blog's "full jitter"): attempt n
// (counted from 0) waits a uniformly random time in [0, min(cap, base · 2^n)], so many agents
// that lost the same server do not come back in lock-step. Not thread-safe; one per loop.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <random>

namespace lattice::agent {

class Backoff {
 public:
  using ms = std::chrono::milliseconds;
  Backoff(ms base, ms cap, std::uint64_t seed = std::random_device{}())
      : base_(base), cap_(cap), rng_(seed) {}

  // The upper bound of attempt `n`'s delay: min(cap, base · 2^n).
  ms Ceiling(int n) const {
    const int shift = std::clamp(n, 0, 30);
    const auto grown = base_.count() * (std::int64_t{1} << shift);
    return ms(std::min<std::int64_t>(grown, cap_.count()));
  }

  // The delay before the next attempt; counts the attempt.
  ms Next() {
    const auto ceiling = Ceiling(attempts_++);
    std::uniform_int_distribution<std::int64_t> pick(0, ceiling.count());
    return ms(pick(rng_));
  }

  void Reset() { attempts_ = 0; }
  int attempts() const { return attempts_; }

 private:
  const ms base_;
  const ms cap_;
  std::mt19937_64 rng_;
  int attempts_ = 0;
};

}  // namespace lattice::agent
