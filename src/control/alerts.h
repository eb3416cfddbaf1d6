// Alerts: the typed events a user (or, for node events, an admin) can be notified of
// (docs/notifications.md). Services raise them where the change happens (the control plane on
// status changes, the prober on reachability changes, backups on failures, the node registry on
// node loss); the notification service turns them into deliveries. Raising never blocks and
// never fails the caller: a sink queues or drops.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lattice::control {

enum class AlertKind {
  kWorkloadFailed,       // a workload's container failed (crash loop, start error)
  kWorkloadLost,         // its node went away for longer than the grace
  kWorkloadRecovered,    // running again after failed or lost
  kEndpointUnreachable,  // an outside-in probe of a public endpoint failed
  kEndpointReachable,    // ... and answers again
  kBackupFailed,         // a backup (or a scheduled one missed) failed
  kBackupNotVerified,    // a backup's restore proof failed
  kNodeDown,             // admins only
  kNodeUp,               // admins only
  kQuotaNearlyUsed,      // a user's workloads use >= 80 % of a quota
};

// The wire name ("workload.failed", "endpoint.unreachable", ...), used in the API, the
// webhook body and subscriptions.
constexpr std::string_view AlertKindName(AlertKind k) {
  switch (k) {
    case AlertKind::kWorkloadFailed:
      return "workload.failed";
    case AlertKind::kWorkloadLost:
      return "workload.lost";
    case AlertKind::kWorkloadRecovered:
      return "workload.recovered";
    case AlertKind::kEndpointUnreachable:
      return "endpoint.unreachable";
    case AlertKind::kEndpointReachable:
      return "endpoint.reachable";
    case AlertKind::kBackupFailed:
      return "backup.failed";
    case AlertKind::kBackupNotVerified:
      return "backup.not-verified";
    case AlertKind::kNodeDown:
      return "node.down";
    case AlertKind::kNodeUp:
      return "node.up";
    case AlertKind::kQuotaNearlyUsed:
      return "quota.nearly-used";
  }
  return "";
}

inline std::optional<AlertKind> ParseAlertKind(std::string_view name) {
  for (int i = 0; i <= static_cast<int>(AlertKind::kQuotaNearlyUsed); ++i) {
    auto k = static_cast<AlertKind>(i);
    if (AlertKindName(k) == name) return k;
  }
  return std::nullopt;
}

// Node events concern admins; every other kind concerns the workload's (or quota's) owner.
constexpr bool IsAdminAlert(AlertKind k) {
  return k == AlertKind::kNodeDown || k == AlertKind::kNodeUp;
}

struct Alert {
  AlertKind kind = AlertKind::kWorkloadFailed;
  std::string owner_id;       // the user concerned; empty for node events
  std::string workload_id;    // empty for node and quota events
  std::string workload_name;  // for the message a person reads
  std::string node_id;        // node events, and where a workload runs when known
  std::string subject;        // what in particular: "port 5432", a backup id; may be empty
  std::string message;        // why, in words
  std::int64_t at = 0;        // unix seconds
};

class AlertSink {
 public:
  virtual ~AlertSink() = default;
  // Must return quickly and must not throw; called on the raiser's thread.
  virtual void Raise(const Alert& alert) = 0;
};

// Drops every alert (no notification service wired, or tests that do not look).
class NoAlerts final : public AlertSink {
 public:
  void Raise(const Alert&) override {}
};

}  // namespace lattice::control
