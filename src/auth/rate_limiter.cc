#include "auth/rate_limiter.h"

namespace lattice::auth {

FailureLimiter::FailureLimiter(const Clock& clock, int max_failures, std::int64_t window_seconds)
    : clock_(clock), max_failures_(max_failures), window_(window_seconds) {}

std::int64_t FailureLimiter::RetryAfter(const std::string& key) const {
  const std::int64_t now = clock_.NowSeconds();
  std::lock_guard lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end() || it->second.failures < max_failures_) return 0;
  const std::int64_t until = it->second.window_start + window_;
  return until > now ? until - now : 0;
}

void FailureLimiter::RecordFailure(const std::string& key) {
  const std::int64_t now = clock_.NowSeconds();
  std::lock_guard lock(mu_);
  if (entries_.size() > 100000) SweepLocked(now);
  Entry& e = entries_[key];
  if (e.failures == 0 || now >= e.window_start + window_) {
    e.window_start = now;
    e.failures = 0;
  }
  ++e.failures;
}

void FailureLimiter::Reset(const std::string& key) {
  std::lock_guard lock(mu_);
  entries_.erase(key);
}

void FailureLimiter::SweepLocked(std::int64_t now) {
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (now >= it->second.window_start + window_)
      it = entries_.erase(it);
    else
      ++it;
  }
}

}  // namespace lattice::auth
