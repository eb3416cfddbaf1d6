// Throttles for the account endpoints, keyed by strings the caller builds
// ("addr:<ip>", "login:<email>|<ip>", ...). Both use the injected clock; memory is bounded:
// stale keys are swept as new ones arrive. Thread-safe.
//
// FailureLimiter: a fixed window. Counts events per key (failed sign-ins from one address, or
// sign-ups from one address) and, once a key has `max_failures` in the window, says how long it
// must wait for the window to end.
//
// Backoff: exponential backoff per key. The first `free_failures` failures cost nothing; each one
// after that doubles the wait before the next attempt (base, 2·base, 4·base, ... up to
// `max_seconds`), counted from the latest failure. A success resets the key. Used per (account,
// source address), so a wrong password typed from one address never locks the account out
// for another address.
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

struct BackoffPolicy {
  int free_failures = 3;
  std::int64_t base_seconds = 1;
  std::int64_t max_seconds = 15 * 60;
  // A key with no failure for this long starts again from zero.
  std::int64_t forget_after_seconds = 24 * 3600;
};

class Backoff {
 public:
  Backoff(const Clock& clock, BackoffPolicy policy);

  // Seconds the key must wait before its next attempt; 0 if it may try now.
  std::int64_t RetryAfter(const std::string& key) const;
  void RecordFailure(const std::string& key);
  void Reset(const std::string& key);

  // The wait that follows the `failures`-th consecutive failure.
  std::int64_t DelayAfter(int failures) const;

 private:
  struct Entry {
    std::int64_t last_failure = 0;
    int failures = 0;
  };
  void SweepLocked(std::int64_t now);

  const Clock& clock_;
  const BackoffPolicy policy_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;  // guarded by mu_
};

}  // namespace lattice::auth
