#include "control/event_bus.h"

#include <vector>

namespace lattice::control {

std::unique_ptr<EventBus::Subscription> EventBus::Subscribe(std::string user_id, Callback cb) {
  std::lock_guard lock(mu_);
  const std::uint64_t id = next_id_++;
  subs_.emplace(id, Sub{std::move(user_id), std::move(cb)});
  return std::make_unique<Subscription>(*this, id);
}

void EventBus::Publish(const Event& e) {
  std::vector<std::uint64_t> dropped;
  {
    std::lock_guard lock(mu_);
    for (auto& [id, sub] : subs_) {
      if (!e.owner_id.empty() && e.owner_id != sub.user_id) continue;
      if (!sub.cb(e)) dropped.push_back(id);
    }
    for (auto id : dropped) subs_.erase(id);
  }
}

void EventBus::Unsubscribe(std::uint64_t id) {
  std::lock_guard lock(mu_);
  subs_.erase(id);
}

}  // namespace lattice::control
