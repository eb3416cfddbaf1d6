// RecordingAlerts (tests only): an AlertSink that keeps every alert raised, for tests that check
// which alerts a service raises. Thread-safe.
#pragma once

#include <mutex>
#include <vector>

#include "control/alerts.h"

namespace lattice::control {

class RecordingAlerts final : public AlertSink {
 public:
  void Raise(const Alert& alert) override {
    std::lock_guard lock(mu_);
    raised_.push_back(alert);
  }
  std::vector<Alert> Raised() {
    std::lock_guard lock(mu_);
    return raised_;
  }
  std::vector<Alert> Of(AlertKind kind) {
    std::vector<Alert> out;
    for (const Alert& a : Raised())
      if (a.kind == kind) out.push_back(a);
    return out;
  }

 private:
  std::mutex mu_;
  std::vector<Alert> raised_;
};

}  // namespace lattice::control
