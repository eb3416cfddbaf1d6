// EventBus: in-process fan-out of change notifications (workload and node changes) to the
// Server-Sent Events streams of signed-in users. Publishers never block: a subscriber that
// cannot keep up is told so (its callback returns false) and is dropped. Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace lattice::control {

struct Event {
  std::string owner_id;  // the user it concerns; empty: every user (node changes)
  std::string type;      // "workload", "workload.deleted", "node"
  std::string data;      // JSON
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
