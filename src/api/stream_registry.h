// StreamRegistry: the long-lived responses (the SSE event stream, followed logs) that are open
// right now, by user and session. It enforces a per-user cap on each kind, so one user holding
// many streams cannot use up what everyone shares, and it ends a session's streams the moment
// the session is revoked (logout, password change, any revocation AuthService announces).
//
// A stream registers with a `close` callback and holds the returned Lease for as long as it
// runs; dropping the Lease unregisters it. `close` must be cheap, must not block and must be
// safe to call from any thread (closing the stream's queue is); it is called at most once,
// never under the registry's lock. Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "auth/auth_service.h"
#include "common/principal.h"
#include "common/result.h"

namespace lattice::api {

enum class StreamKind { kEvents, kFollowedLogs };

struct StreamLimits {
  int events_per_user = 8;         // concurrent GET /api/v1/events
  int followed_logs_per_user = 8;  // concurrent GET .../logs?follow=true
};

class StreamRegistry {
 public:
  class Lease {
   public:
    Lease(StreamRegistry& registry, std::uint64_t id) : registry_(registry), id_(id) {}
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease() { registry_.Release(id_); }

   private:
    StreamRegistry& registry_;
    const std::uint64_t id_;
  };

  explicit StreamRegistry(StreamLimits limits) : limits_(limits) {}
  StreamRegistry(const StreamRegistry&) = delete;
  StreamRegistry& operator=(const StreamRegistry&) = delete;

  // Registers a stream of `who`'s session. kRateLimited (type "too-many-streams") when the
  // user already holds their cap of this kind. The registry must outlive the Lease.
  Result<std::unique_ptr<Lease>> Open(StreamKind kind, const Principal& who,
                                      std::function<void()> close);

  // Closes every stream the revocation covers.
  void Revoke(const auth::Revocation& r);

  // Streams of this kind `user_id` holds now.
  int Count(StreamKind kind, const std::string& user_id) const;

 private:
  struct Entry {
    StreamKind kind;
    std::string user_id;
    std::string session_id;
    std::function<void()> close;
  };
  void Release(std::uint64_t id);

  const StreamLimits limits_;
  mutable std::mutex mu_;
  std::uint64_t next_id_ = 1;                      // guarded by mu_
  std::unordered_map<std::uint64_t, Entry> open_;  // guarded by mu_
};

}  // namespace lattice::api
