// EventBus: in-process fan-out of typed change notifications (workload and node changes) to
// the Server-Sent Events streams of signed-in users. Publishers never block: a subscriber that
// cannot keep up is told so (its callback returns false) and is dropped. Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <variant>

#include "control/views.h"

namespace lattice::control {

// What changed, typed; the event stream's JSON for each is api/event_json.h's.
struct WorkloadChanged {
  WorkloadView view;  // without credentials
};
struct WorkloadDeleted {
  std::string id;
};
struct NodeChanged {
  NodeView node;
};

struct Event {
  std::string owner_id;  // the user it concerns; empty: every user (node changes)
  std::variant<WorkloadChanged, WorkloadDeleted, NodeChanged> what;
};

class EventBus {
 public:
  // Returns false to unsubscribe (e.g. its buffer is full or the client left).
  using Callback = std::function<bool(const Event&)>;

  // Unsubscribes when destroyed. Must not outlive the bus.
  class Subscription {
   public:
    Subscription(EventBus& bus, std::uint64_t id) : bus_(bus), id_(id) {}
    ~Subscription() { bus_.Unsubscribe(id_); }
    Subscription(const Subscription&) = delete;
    Subscription& operator=(const Subscription&) = delete;

   private:
    EventBus& bus_;
    std::uint64_t id_;
  };

  // Delivers events for `user_id` (and events for everyone) to `cb`, on the publisher's thread.
  std::unique_ptr<Subscription> Subscribe(std::string user_id, Callback cb);
  void Publish(const Event& e);

 private:
  void Unsubscribe(std::uint64_t id);

  struct Sub {
    std::string user_id;
    Callback cb;
  };
  std::mutex mu_;
  std::uint64_t next_id_ = 1;          // guarded by mu_
  std::map<std::uint64_t, Sub> subs_;  // guarded by mu_
};

}  // namespace lattice::control
