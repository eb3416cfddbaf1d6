// What both engines' notification code shares (store/notification_store.h): the column lists and
// how a channel's subscribed kinds are stored (one comma-separated text column; kinds never
// contain a comma). Internal to the store engines.
#pragma once

#include <string>
#include <vector>

namespace lattice::store::notification_sql {

constexpr const char* kChannelColumns =
    "id, owner_id, kind, target, secret_enc, events, created_at";
constexpr const char* kDeliveryColumns =
    "id, channel_id, owner_id, kind, workload_id, payload, attempts, status, last_code, "
    "last_result, next_attempt_at, created_at, updated_at";

std::string JoinEvents(const std::vector<std::string>& events);
std::vector<std::string> SplitEvents(const std::string& text);

}  // namespace lattice::store::notification_sql
