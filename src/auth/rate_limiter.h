// FailureLimiter: counts failed sign-ins per key ("account:<email>", "addr:<ip>") in a fixed
// window and says how long a key must wait once it has failed too often. Memory is bounded:
// stale keys are swept as new ones arrive. Thread-safe.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

#include "common/clock.h"

namespace lattice::auth {

class FailureLimiter {
 public:
  // At most `max_failures` per `window_seconds` for each key.
  FailureLimiter(const Clock& clock, int max_failures, std::int64_t window_seconds);

  // Seconds the key must wait before trying again; 0 if it may try now.
  std::int64_t RetryAfter(const std::string& key) const;
  void RecordFailure(const std::string& key);
  void Reset(const std::string& key);

 private:
  struct Entry {
    std::int64_t window_start = 0;
    int failures = 0;
  };
  void SweepLocked(std::int64_t now);

  const Clock& clock_;
  const int max_failures_;
  const std::int64_t window_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;  // guarded by mu_
};

}  // namespace lattice::auth
