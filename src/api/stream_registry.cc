#include "api/stream_registry.h"

#include <utility>
#include <vector>

namespace lattice::api {

Result<std::unique_ptr<StreamRegistry::Lease>> StreamRegistry::Open(StreamKind kind,
                                                                    const Principal& who,
                                                                    std::function<void()> close) {
  const int cap =
      kind == StreamKind::kEvents ? limits_.events_per_user : limits_.followed_logs_per_user;
  std::lock_guard lock(mu_);
  int held = 0;
  for (const auto& [id, e] : open_) held += e.kind == kind && e.user_id == who.user_id;
  if (held >= cap) {
    Error e =
        Error::RateLimited(std::string("You already have ") + std::to_string(held) + " open " +
                               (kind == StreamKind::kEvents ? "event streams" : "followed logs") +
                               ", the most one user may have at once. Close one and try again.",
                           5);
    e.type = "too-many-streams";
    return e;
  }
  const std::uint64_t id = next_id_++;
  open_.emplace(id, Entry{kind, who.user_id, who.session_id, std::move(close)});
  return std::make_unique<Lease>(*this, id);
}

void StreamRegistry::Revoke(const auth::Revocation& r) {
  std::vector<std::function<void()>> to_close;
  {
    std::lock_guard lock(mu_);
    for (auto& [id, e] : open_) {
      const bool covered =
          e.user_id == r.user_id && (r.session_id.empty() || e.session_id == r.session_id);
      if (covered && e.close) to_close.push_back(std::exchange(e.close, nullptr));
    }
  }
  for (auto& close : to_close) close();
}

int StreamRegistry::Count(StreamKind kind, const std::string& user_id) const {
  std::lock_guard lock(mu_);
  int n = 0;
  for (const auto& [id, e] : open_) n += e.kind == kind && e.user_id == user_id;
  return n;
}

void StreamRegistry::Release(std::uint64_t id) {
  std::function<void()> close;
  {
    std::lock_guard lock(mu_);
    auto it = open_.find(id);
    if (it == open_.end()) return;
    close = std::move(it->second.close);
    open_.erase(it);
  }
  // Destroyed outside the lock: it may own the last reference to the stream's queue.
}

}  // namespace lattice::api
