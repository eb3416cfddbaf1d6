#include "store/notification_store.h"

#include "store/notification_sql.h"

namespace lattice::store {

const char* ChannelKindName(ChannelKind k) {
  return k == ChannelKind::kEmail ? "email" : "webhook";
}

bool ParseChannelKind(std::string_view name, ChannelKind& out) {
  if (name == "webhook") {
    out = ChannelKind::kWebhook;
  } else if (name == "email") {
    out = ChannelKind::kEmail;
  } else {
    return false;
  }
  return true;
}

const char* DeliveryStatusName(DeliveryStatus s) {
  switch (s) {
    case DeliveryStatus::kPending:
      return "pending";
    case DeliveryStatus::kDelivered:
      return "delivered";
    case DeliveryStatus::kFailed:
      return "failed";
  }
  return "pending";
}

bool ParseDeliveryStatus(std::string_view name, DeliveryStatus& out) {
  for (DeliveryStatus s :
       {DeliveryStatus::kPending, DeliveryStatus::kDelivered, DeliveryStatus::kFailed}) {
    if (name == DeliveryStatusName(s)) {
      out = s;
      return true;
    }
  }
  return false;
}

namespace notification_sql {

std::string JoinEvents(const std::vector<std::string>& events) {
  std::string out;
  for (const auto& e : events) {
    if (!out.empty()) out += ',';
    out += e;
  }
  return out;
}

std::vector<std::string> SplitEvents(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    if (end > start) out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

}  // namespace notification_sql
}  // namespace lattice::store
