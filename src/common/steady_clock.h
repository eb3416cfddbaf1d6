// SteadyClock: an injectable monotonic time source for deadlines and backoffs (clock.h's Clock
// is wall time in seconds, for expiries). Production code takes a `const SteadyClock&` and is
// handed RealSteadyClock(); tests hand it a ManualSteadyClock and move time by hand, so a 60 s
// backoff is tested without waiting 60 s. Implementations must be thread-safe.
#pragma once

#include <atomic>
#include <chrono>

namespace lattice {

class SteadyClock {
 public:
  using time_point = std::chrono::steady_clock::time_point;
  using duration = std::chrono::steady_clock::duration;

  virtual ~SteadyClock() = default;
  virtual time_point Now() const = 0;
};

// std::chrono::steady_clock.
class RealSteadyClockImpl final : public SteadyClock {
 public:
  time_point Now() const override { return std::chrono::steady_clock::now(); }
};

// The process-wide real clock (stateless; lives forever).
inline const SteadyClock& RealSteadyClock() {
  static const RealSteadyClockImpl clock;
  return clock;
}

// A clock that stands still until a test moves it. Starts at an arbitrary non-zero point.
class ManualSteadyClock final : public SteadyClock {
 public:
  time_point Now() const override { return time_point(duration(ticks_.load())); }
  void Advance(duration d) { ticks_ += d.count(); }

 private:
  std::atomic<duration::rep> ticks_{
      std::chrono::duration_cast<duration>(std::chrono::hours(1)).count()};
};

}  // namespace lattice
