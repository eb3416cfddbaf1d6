#include "notify/notification_service.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>

#include "common/random.h"
#include "common/secretbox.h"
#include "notify/signature.h"

namespace lattice::notify {
namespace {

namespace json = boost::json;
using store::ChannelKind;
using store::Delivery;
using store::DeliveryStatus;
using store::NotificationChannel;

constexpr int kClaimBatch = 16;
constexpr std::size_t kMaxUrl = 2048;

bool Subscribed(const NotificationChannel& c, std::string_view kind) {
  return std::find(c.events.begin(), c.events.end(), kind) != c.events.end();
}

std::string Payload(const std::string& delivery_id, const control::Alert& a,
                    std::string_view kind) {
  json::object body{{"id", delivery_id},    {"kind", kind},         {"at", FormatTimestamp(a.at)},
                    {"subject", a.subject}, {"message", a.message}, {"test", kind == "test"}};
  if (!a.workload_id.empty()) {
    body["workload"] = json::object{{"id", a.workload_id}, {"name", a.workload_name}};
  } else {
    body["workload"] = nullptr;
  }
  body["node_id"] = a.node_id;
  return json::serialize(body);
}

// A mail's subject and text from a delivery's payload.
std::pair<std::string, std::string> MailOf(const std::string& payload) {
  std::error_code ec;
  json::value v = json::parse(payload, ec);
  if (ec || !v.is_object()) return {"[Lattice] notification", payload};
  const json::object& o = v.as_object();
  const auto text = [&o](const char* key) {
    const auto* f = o.if_contains(key);
    return f && f->is_string() ? std::string(f->as_string()) : std::string();
  };
  std::string name;
  if (const auto* w = o.if_contains("workload"); w && w->is_object()) {
    if (const auto* n = w->as_object().if_contains("name"); n && n->is_string())
      name = std::string(n->as_string());
  }
  const std::string kind = text("kind");
  std::string subject = "[Lattice] " + kind;
  if (!name.empty()) subject += ": " + name;
  std::string body = text("message") + "\n\n";
  body += "Event:    " + kind + "\n";
  if (!name.empty()) body += "Workload: " + name + "\n";
  if (!text("subject").empty()) body += "Subject:  " + text("subject") + "\n";
  if (!text("node_id").empty()) body += "Node:     " + text("node_id") + "\n";
  body += "At:       " + text("at") + "\nDelivery: " + text("id") + "\n";
  // Header values: no line breaks.
  std::replace(subject.begin(), subject.end(), '\r', ' ');
  std::replace(subject.begin(), subject.end(), '\n', ' ');
  return {subject, body};
}

Status CheckUrl(const std::string& url) {
  const auto bad = [](std::string why) {
    return Error::Invalid("The webhook URL is not usable: " + why + ".", {{"url", std::move(why)}});
  };
  if (url.empty()) return bad("a URL is required");
  if (url.size() > kMaxUrl) return bad("it is longer than 2048 characters");
  auto u = boost::urls::parse_absolute_uri(url);
  if (!u) return bad("it is not an absolute URL");
  if (u->scheme() != "http" && u->scheme() != "https")
    return bad("its scheme must be http or https");
  if (u->host().empty()) return bad("it has no host");
  if (u->has_fragment()) return bad("it must not have a fragment");
  return Status::Ok();
}

Status CheckEmail(const std::string& address) {
  const auto bad = [](std::string why) {
    return Error::Invalid("The e-mail address is not usable: " + why + ".",
                          {{"email", std::move(why)}});
  };
  if (address.empty()) return bad("an address is required");
  if (address.size() > 254) return bad("it is longer than 254 characters");
  const auto at = address.find('@');
  if (at == std::string::npos || at == 0 || at + 1 >= address.size() ||
      address.find('@', at + 1) != std::string::npos)
    return bad("it must look like name@example.com");
  for (unsigned char ch : address) {
    if (ch <= ' ' || ch == '<' || ch == '>' || ch == ',' || ch == ';' || ch == 0x7f)
      return bad("it must not contain spaces, control characters or <>,;");
  }
  return Status::Ok();
}

}  // namespace

NotificationService::NotificationService(store::Store& store, const Clock& clock,
                                         const Keyring& keys, Transport& transport,
                                         NotifyOptions options)
    : store_(store), clock_(clock), keys_(keys), transport_(transport), options_(options) {}

NotificationService::~NotificationService() {
  Stop();
}

void NotificationService::Raise(const control::Alert& alert) {
  {
    std::lock_guard lock(mu_);
    if (queue_.size() >= options_.queue_limit) {
      spdlog::warn("msg=\"notification queue full, alert dropped\" kind={}",
                   control::AlertKindName(alert.kind));
      return;
    }
    queue_.push_back(alert);
  }
  wake_.notify_one();
}

void NotificationService::Start() {
  std::lock_guard lock(mu_);
  if (dispatcher_.joinable()) return;
  stopping_ = false;
  dispatcher_ = std::thread([this] { Run(); });
}

void NotificationService::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (dispatcher_.joinable()) dispatcher_.join();
}

void NotificationService::Run() {
  for (;;) {
    {
      std::unique_lock lock(mu_);
      wake_.wait_for(lock, options_.poll,
                     [this] { return stopping_ || poked_ || !queue_.empty(); });
      if (stopping_) return;
      poked_ = false;
    }
    try {
      Pump();
    } catch (const std::exception& e) {  // keep the dispatcher alive
      spdlog::error("msg=\"notification dispatcher error\" error=\"{}\"", e.what());
    }
  }
}

void NotificationService::Pump() {
  std::vector<control::Alert> alerts;
  {
    std::lock_guard lock(mu_);
    alerts.assign(queue_.begin(), queue_.end());
    queue_.clear();
  }
  if (!alerts.empty()) Record(alerts);
  for (;;) {
    const std::int64_t now = clock_.NowSeconds();
    // Leased long enough for a batch of attempts to time out one after the other.
    const std::int64_t lease =
        now + 60 +
        kClaimBatch *
            std::chrono::duration_cast<std::chrono::seconds>(options_.send_timeout).count();
    auto due = store_.Notifications().ClaimDueDeliveries(now, lease, kClaimBatch);
    if (!due.ok()) {
      spdlog::warn("msg=\"cannot read due notifications\" error=\"{}\"", due.error().message);
      return;
    }
    for (const Delivery& d : *due) {
      {
        std::lock_guard lock(mu_);
        if (stopping_) return;  // the lease runs out and another round takes them up
      }
      Attempt(d);
    }
    if (due->size() < static_cast<std::size_t>(kClaimBatch)) return;
  }
}

void NotificationService::Record(const std::vector<control::Alert>& alerts) {
  auto channels = store_.Notifications().ListChannels("");
  if (!channels.ok()) {
    spdlog::warn("msg=\"cannot read notification channels, {} alert(s) dropped\" error=\"{}\"",
                 alerts.size(), channels.error().message);
    return;
  }
  const std::int64_t now = clock_.NowSeconds();
  std::vector<Delivery> out;
  for (const control::Alert& a : alerts) {
    const std::string_view kind = control::AlertKindName(a.kind);
    const bool admin = control::IsAdminAlert(a.kind);
    for (const NotificationChannel& c : *channels) {
      // Node events go to every channel subscribed to them (only admins can subscribe); every
      // other kind only to the owner's own channels.
      if (!Subscribed(c, kind) || (!admin && c.owner_id != a.owner_id)) continue;
      Delivery d;
      d.id = NewId("dlv");
      d.channel_id = c.id;
      d.owner_id = c.owner_id;
      d.kind = std::string(kind);
      d.workload_id = a.workload_id;
      d.payload = Payload(d.id, a, kind);
      d.next_attempt_at = now;
      d.created_at = d.updated_at = now;
      out.push_back(std::move(d));
    }
  }
  if (Status st = store_.Notifications().AddDeliveries(out); !st.ok()) {
    spdlog::warn("msg=\"cannot record notifications, {} dropped\" error=\"{}\"", out.size(),
                 st.error().message);
  }
}

void NotificationService::Attempt(const Delivery& d) {
  auto channel = store_.Notifications().GetChannel(d.channel_id);
  if (!channel.ok()) return;  // deleted meanwhile, its log with it
  SendOutcome outcome;
  if (channel->kind == ChannelKind::kWebhook) {
    std::string sealed;
    Result<std::string> secret = Error::Internal("undecodable");
    if (Base64UrlDecode(channel->secret_enc, sealed)) secret = Open(sealed, keys_.secrets_key());
    if (!secret.ok()) {
      outcome = {false, false, 0, "the channel's secret cannot be opened"};
    } else {
      const std::int64_t ts = clock_.NowSeconds();
      WebhookRequest req;
      req.url = channel->target;
      req.body = d.payload;
      req.timeout = options_.send_timeout;
      req.headers = {{"Content-Type", "application/json"},
                     {"X-Lattice-Event", d.kind},
                     {"X-Lattice-Delivery", d.id},
                     {"X-Lattice-Timestamp", std::to_string(ts)},
                     {"X-Lattice-Signature", SignWebhook(*secret, ts, d.payload)}};
      outcome = transport_.PostWebhook(req);
    }
  } else {
    auto [subject, text] = MailOf(d.payload);
    MailRequest req{channel->target, subject, text, d.id + "@lattice", options_.send_timeout * 2};
    outcome = transport_.SendMail(options_.smtp, req);
  }
  store::DeliveryAttempt a;
  a.attempts = d.attempts + 1;
  a.last_code = outcome.code;
  a.last_result = outcome.detail.substr(0, 500);
  a.at = clock_.NowSeconds();
  if (outcome.ok) {
    a.status = DeliveryStatus::kDelivered;
  } else if (outcome.retry && a.attempts < options_.max_attempts) {
    a.status = DeliveryStatus::kPending;
    a.next_attempt_at = a.at + RetryDelay(a.attempts);
  } else {
    a.status = DeliveryStatus::kFailed;
  }
  if (Status st = store_.Notifications().RecordAttempt(d.id, a);
      !st.ok() && st.error().code != ErrorCode::kNotFound) {
    spdlog::warn("msg=\"cannot record a notification attempt\" delivery={} error=\"{}\"", d.id,
                 st.error().message);
  }
  if (!outcome.ok) {
    spdlog::info(
        "msg=\"notification not delivered\" delivery={} channel={} attempt={} status={} "
        "result=\"{}\"",
        d.id, d.channel_id, a.attempts, store::DeliveryStatusName(a.status), a.last_result);
  }
}

void NotificationService::Tick() {
  constexpr std::int64_t kPruneEvery = 600;
  const std::int64_t now = clock_.NowSeconds();
  if (std::int64_t last = last_prune_.load(); last != 0 && now - last < kPruneEvery) return;
  last_prune_ = now;
  auto pruned = store_.Notifications().PruneDeliveries(clock_.NowSeconds() - options_.keep_seconds,
                                                       options_.keep_per_channel);
  if (!pruned.ok()) {
    spdlog::warn("msg=\"cannot prune notification deliveries\" error=\"{}\"",
                 pruned.error().message);
  }
}

std::int64_t NotificationService::RetryDelay(int attempt) const {
  std::int64_t delay = options_.retry_base_seconds;
  for (int i = 1; i < attempt && delay < options_.retry_max_seconds; ++i) delay *= 2;
  return std::min(delay, options_.retry_max_seconds);
}

std::vector<std::string> NotificationService::KindsFor(bool admin) {
  std::vector<std::string> out;
  for (int i = 0; i <= static_cast<int>(control::AlertKind::kQuotaNearlyUsed); ++i) {
    const auto k = static_cast<control::AlertKind>(i);
    if (admin || !control::IsAdminAlert(k)) out.emplace_back(control::AlertKindName(k));
  }
  return out;
}

Result<CreatedChannel> NotificationService::CreateChannel(const Principal& who,
                                                          const ChannelRequest& req) {
  NotificationChannel c;
  if (!store::ParseChannelKind(req.kind, c.kind)) {
    return Error::Invalid("A channel's kind is webhook or email.",
                          {{"kind", "must be webhook or email"}});
  }
  std::string secret;
  if (c.kind == ChannelKind::kWebhook) {
    if (Status st = CheckUrl(req.url); !st.ok()) return std::move(st).error();
    c.target = req.url;
    secret = "whsec_" + RandomToken(32);
    c.secret_enc = Base64UrlEncode(Seal(secret, keys_.secrets_key()));
  } else {
    if (Status st = CheckEmail(req.email); !st.ok()) return std::move(st).error();
    if (!EmailConfigured()) {
      return Error::Conflict(
          "E-mail notifications are not configured on this server: its administrator sets "
          "--smtp-url and --smtp-from.");
    }
    c.target = req.email;
  }
  if (req.events.empty()) {
    c.events = KindsFor(who.is_admin());
  } else {
    for (const std::string& e : req.events) {
      auto k = control::ParseAlertKind(e);
      if (!k) {
        return Error::Invalid("Unknown alert kind '" + e + "'.",
                              {{"events", "unknown alert kind '" + e + "'"}});
      }
      if (control::IsAdminAlert(*k) && !who.is_admin())
        return Error::Forbidden("Only administrators may subscribe to node events ('" + e + "').");
      if (!Subscribed(c, e)) c.events.push_back(e);
    }
  }
  auto mine = store_.Notifications().ListChannels(who.user_id);
  if (!mine.ok()) return std::move(mine).error();
  if (static_cast<int>(mine->size()) >= options_.max_channels_per_user) {
    return Error::Conflict("You have " + std::to_string(mine->size()) +
                           " notification channels, the most allowed; delete one first.");
  }
  c.id = NewId("nch");
  c.owner_id = who.user_id;
  c.created_at = clock_.NowSeconds();
  if (Status st = store_.Notifications().CreateChannel(c); !st.ok()) return std::move(st).error();
  return CreatedChannel{std::move(c), std::move(secret)};
}

Result<std::vector<NotificationChannel>> NotificationService::ListChannels(const Principal& who) {
  return store_.Notifications().ListChannels(who.user_id);
}

Result<NotificationChannel> NotificationService::GetChannel(const Principal& who,
                                                            const std::string& id) {
  auto c = store_.Notifications().GetChannel(id);
  if (!c.ok()) return std::move(c).error();
  if (c->owner_id != who.user_id) return Error::NotFound("notification channel not found");
  return c;
}

Status NotificationService::DeleteChannel(const Principal& who, const std::string& id) {
  if (auto c = GetChannel(who, id); !c.ok()) return std::move(c).error();
  return store_.Notifications().DeleteChannel(id);
}

Result<Delivery> NotificationService::SendTest(const Principal& who, const std::string& id) {
  auto c = GetChannel(who, id);
  if (!c.ok()) return std::move(c).error();
  const std::int64_t now = clock_.NowSeconds();
  control::Alert a;
  a.owner_id = who.user_id;
  a.subject = "test";
  a.message = "A test notification from Lattice: this channel works.";
  a.at = now;
  Delivery d;
  d.id = NewId("dlv");
  d.channel_id = c->id;
  d.owner_id = c->owner_id;
  d.kind = "test";
  d.payload = Payload(d.id, a, "test");
  d.next_attempt_at = now;
  d.created_at = d.updated_at = now;
  if (Status st = store_.Notifications().AddDeliveries({d}); !st.ok()) return std::move(st).error();
  {
    std::lock_guard lock(mu_);
    poked_ = true;
  }
  wake_.notify_one();
  return d;
}

Result<std::vector<Delivery>> NotificationService::Deliveries(const Principal& who,
                                                              const std::string& id, int limit) {
  if (auto c = GetChannel(who, id); !c.ok()) return std::move(c).error();
  return store_.Notifications().ListDeliveries(id, std::clamp(limit, 1, 200));
}

}  // namespace lattice::notify
