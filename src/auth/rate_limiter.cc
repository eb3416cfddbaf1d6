#include "auth/rate_limiter.h"

#include <algorithm>
#include <iterator>

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

namespace lattice::auth {

Backoff::Backoff(const Clock& clock, BackoffPolicy policy) : clock_(clock), policy_(policy) {}

std::int64_t Backoff::DelayAfter(int failures) const {
  const int over = failures - policy_.free_failures;
  if (over <= 0) return 0;
  std::int64_t delay = policy_.base_seconds;
  for (int i = 1; i < over && delay < policy_.max_seconds; ++i) delay *= 2;
  return std::min(delay, policy_.max_seconds);
}

std::int64_t Backoff::RetryAfter(const std::string& key) const {
  const std::int64_t now = clock_.NowSeconds();
  std::lock_guard lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return 0;
  const std::int64_t until = it->second.last_failure + DelayAfter(it->second.failures);
  return until > now ? until - now : 0;
}

void Backoff::RecordFailure(const std::string& key) {
  const std::int64_t now = clock_.NowSeconds();
  std::lock_guard lock(mu_);
  if (entries_.size() > 100000) SweepLocked(now);
  Entry& e = entries_[key];
  if (e.failures > 0 && now - e.last_failure >= policy_.forget_after_seconds) e.failures = 0;
  e.last_failure = now;
  if (e.failures < 1000) ++e.failures;
}

void Backoff::Reset(const std::string& key) {
  std::lock_guard lock(mu_);
  entries_.erase(key);
}

void Backoff::SweepLocked(std::int64_t now) {
  // Forgotten keys first; if that frees too little, keys whose wait is over (they lose their
  // history, which costs an attacker's spread of keys more than it gains them).
  for (const bool waiting_over : {false, true}) {
    for (auto it = entries_.begin(); it != entries_.end();) {
      const Entry& e = it->second;
      const bool stale = now - e.last_failure >= policy_.forget_after_seconds ||
                         (waiting_over && e.last_failure + DelayAfter(e.failures) <= now);
      it = stale ? entries_.erase(it) : std::next(it);
    }
    if (entries_.size() <= 50000) return;
  }
}

}  // namespace lattice::auth
