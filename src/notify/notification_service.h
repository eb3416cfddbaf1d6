// NotificationService: turns alerts (control/alerts.h) into notifications on the channels users
// subscribed (docs/notifications.md). It is the server's AlertSink: Raise only queues the alert
// in memory and wakes the dispatcher; the dispatcher — a thread of its own, never an HTTP I/O
// thread — matches the alert against the channels (a user's own, or every admin channel
// subscribed to node events), records one pending delivery per channel in the store, and sends
// due deliveries through the Transport (webhook POST signed with HMAC-SHA256, or an e-mail),
// retrying transient failures with exponential backoff until `max_attempts`, then marking them
// failed. Deliveries live in the store, so a restart resumes them; only alerts raised and not yet
// recorded (milliseconds) are lost with the process.
//
// Channels are owner-scoped: another user's channel is kNotFound. A webhook's secret is
// generated here, returned once by CreateChannel and kept sealed with the keyring.
//
// Thread-safety: every public method may be called from any thread; the API methods call the
// store (run them off the network threads). Start() once; Stop() (or the destructor) joins the
// dispatcher. The store, clock, keyring and transport must outlive the service.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/keyring.h"
#include "common/principal.h"
#include "common/result.h"
#include "control/alerts.h"
#include "notify/transport.h"
#include "store/store.h"

namespace lattice::notify {

struct NotifyOptions {
  int max_attempts = 5;
  // Attempt n (1-based) failing transiently is retried after base × 2^(n-1) seconds, at most
  // `retry_max_seconds`: 30 s, 1 min, 2 min, 4 min by default.
  std::int64_t retry_base_seconds = 30;
  std::int64_t retry_max_seconds = 3600;
  std::chrono::milliseconds send_timeout{10000};
  // The delivery log keeps finished deliveries this long, and at most this many per channel.
  std::int64_t keep_seconds = 14 * 86400;
  int keep_per_channel = 200;
  std::size_t queue_limit = 10000;  // alerts waiting for the dispatcher; more are dropped
  int max_channels_per_user = 20;
  // How often the dispatcher looks for due retries when nothing wakes it.
  std::chrono::milliseconds poll{1000};
  SmtpSettings smtp;
};

struct ChannelRequest {
  std::string kind;                 // "webhook" or "email"
  std::string url;                  // webhook: http:// or https://
  std::string email;                // email: the address
  std::vector<std::string> events;  // alert kinds; empty: every kind the caller may receive
};

struct CreatedChannel {
  store::NotificationChannel channel;
  std::string secret;  // webhook: the signing secret, shown only now; email: empty
};

class NotificationService final : public control::AlertSink {
 public:
  NotificationService(store::Store& store, const Clock& clock, const Keyring& keys,
                      Transport& transport, NotifyOptions options = {});
  ~NotificationService() override;
  NotificationService(const NotificationService&) = delete;
  NotificationService& operator=(const NotificationService&) = delete;

  // AlertSink: queues `alert` (dropped, with a warning, if the queue is full). Never blocks on
  // I/O, never throws.
  void Raise(const control::Alert& alert) override;

  // Starts / stops the dispatcher thread.
  void Start();
  void Stop();
  // One round of the dispatcher: records queued alerts as deliveries, then attempts every
  // delivery due at the clock's now. Tests with a manual clock call it instead of Start().
  void Pump();
  // Prunes the delivery log (the server's periodic duties), at most every 10 minutes.
  void Tick();

  // --- the API (owner-scoped)
  // kInvalidArgument (with the field): unknown kind, a bad URL or address, an unknown alert
  // kind; kPermissionDenied: node events asked for by a non-admin; kConflict: e-mail asked for
  // while no SMTP relay is configured, or too many channels.
  Result<CreatedChannel> CreateChannel(const Principal& who, const ChannelRequest& req);
  Result<std::vector<store::NotificationChannel>> ListChannels(const Principal& who);
  Result<store::NotificationChannel> GetChannel(const Principal& who, const std::string& id);
  Status DeleteChannel(const Principal& who, const std::string& id);
  // Queues a test notification on the channel (kind "test") and wakes the dispatcher; its
  // result shows in the channel's delivery log.
  Result<store::Delivery> SendTest(const Principal& who, const std::string& id);
  Result<std::vector<store::Delivery>> Deliveries(const Principal& who, const std::string& id,
                                                  int limit);

  // Seconds before retrying after attempt `attempt` (1-based) failed.
  std::int64_t RetryDelay(int attempt) const;
  // The alert kinds a user (or an admin) may subscribe to, by wire name.
  static std::vector<std::string> KindsFor(bool admin);
  bool EmailConfigured() const { return options_.smtp.configured(); }

 private:
  void Run();
  void Record(const std::vector<control::Alert>& alerts);
  void Attempt(const store::Delivery& d);

  // Constant after construction.
  store::Store& store_;
  const Clock& clock_;
  const Keyring& keys_;
  Transport& transport_;
  const NotifyOptions options_;

  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<control::Alert> queue_;  // guarded by mu_
  bool stopping_ = false;             // guarded by mu_
  bool poked_ = false;                // guarded by mu_: a test delivery is waiting
  std::thread dispatcher_;
  std::atomic<std::int64_t> last_prune_{0};  // Tick prunes at most every kPruneEvery seconds
};

}  // namespace lattice::notify
