// NotificationStore: the durable side of notifications (docs/notifications.md). A user's
// channels — a webhook (URL and a sealed signing secret) or an e-mail address, each subscribed
// to a set of alert kinds — and the delivery log: one row per notification sent (or to be sent)
// on a channel, with its attempts, status and the last answer (HTTP status or SMTP reply).
//
// A delivery is written before it is attempted, so a restart does not lose it; the dispatcher
// claims due deliveries (ClaimDueDeliveries leases them, so two replicas never send the same
// one at once) and records each attempt. The log is bounded: PruneDeliveries drops finished
// deliveries past an age and past a count per channel. Deleting a channel deletes its log.
//
// Both engines implement it (store/sqlite/sqlite_notifications.cc,
// store/postgres/pg_notifications.cc) with the same contract, pinned by
// notification_store_test.cc on both. Who may see a channel is the caller's business
// (notify/notification_service.h). Thread-safe like Store.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"

namespace lattice::store {

enum class ChannelKind { kWebhook, kEmail };
enum class DeliveryStatus { kPending, kDelivered, kFailed };

// The stored names ("webhook", "email"; "pending", "delivered", "failed"), also the API's.
const char* ChannelKindName(ChannelKind k);
bool ParseChannelKind(std::string_view name, ChannelKind& out);
const char* DeliveryStatusName(DeliveryStatus s);
bool ParseDeliveryStatus(std::string_view name, DeliveryStatus& out);

struct NotificationChannel {
  std::string id;  // "nch_…"
  std::string owner_id;
  ChannelKind kind = ChannelKind::kWebhook;
  std::string target;      // the webhook's URL or the e-mail address
  std::string secret_enc;  // webhook: the signing secret, sealed (base64url); e-mail: empty
  std::vector<std::string> events;  // subscribed alert kinds' wire names
  std::int64_t created_at = 0;
};

struct Delivery {
  std::string id;  // "dlv_…"
  std::string channel_id;
  std::string owner_id;     // the channel's
  std::string kind;         // an alert kind's wire name, or "test"
  std::string workload_id;  // may be empty
  std::string payload;      // the notification as JSON (the webhook body), fixed at creation
  int attempts = 0;
  DeliveryStatus status = DeliveryStatus::kPending;
  int last_code = 0;        // the last attempt's HTTP status or SMTP reply code; 0: none
  std::string last_result;  // … and what happened, in words
  std::int64_t next_attempt_at = 0;
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;
};

// What one attempt changed.
struct DeliveryAttempt {
  int attempts = 0;
  DeliveryStatus status = DeliveryStatus::kPending;
  int last_code = 0;
  std::string last_result;
  std::int64_t next_attempt_at = 0;  // when still pending
  std::int64_t at = 0;
};

class NotificationStore {
 public:
  virtual ~NotificationStore() = default;

  // kConflict if the id exists.
  virtual Status CreateChannel(const NotificationChannel& c) = 0;
  // kNotFound if there is none.
  virtual Result<NotificationChannel> GetChannel(const std::string& id) = 0;
  // The owner's channels, oldest first; every channel when `owner_id` is empty.
  virtual Result<std::vector<NotificationChannel>> ListChannels(const std::string& owner_id) = 0;
  // Deletes the channel and its deliveries. kNotFound if there is none.
  virtual Status DeleteChannel(const std::string& id) = 0;

  // Records deliveries (pending, in one transaction); a channel deleted meanwhile drops its own.
  virtual Status AddDeliveries(const std::vector<Delivery>& deliveries) = 0;
  // Up to `limit` pending deliveries due at `now` (next_attempt_at <= now), oldest first, each
  // leased until `lease_until` (its next_attempt_at moves there) so no other caller claims it
  // before the attempt is recorded.
  virtual Result<std::vector<Delivery>> ClaimDueDeliveries(std::int64_t now,
                                                           std::int64_t lease_until, int limit) = 0;
  // Records an attempt. kNotFound if the delivery is gone (its channel was deleted).
  virtual Status RecordAttempt(const std::string& delivery_id, const DeliveryAttempt& a) = 0;
  virtual Result<Delivery> GetDelivery(const std::string& id) = 0;
  // The channel's deliveries, newest first, at most `limit`.
  virtual Result<std::vector<Delivery>> ListDeliveries(const std::string& channel_id,
                                                       int limit) = 0;
  // Deletes finished (delivered or failed) deliveries last updated before `before`, and those
  // beyond the newest `keep_per_channel` of their channel. Returns how many.
  virtual Result<std::int64_t> PruneDeliveries(std::int64_t before, int keep_per_channel) = 0;
};

}  // namespace lattice::store
