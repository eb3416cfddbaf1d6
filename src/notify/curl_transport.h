// CurlTransport: webhooks and e-mail through libcurl (docs/notifications.md says why libcurl):
// one easy handle per attempt, blocking with a total timeout, redirects not followed, TLS
// verified against the system's CAs. Thread-safe (no shared handle); call
// curl_global_init once before any thread uses it (the constructor does, idempotently).
#pragma once

#include "notify/transport.h"

namespace lattice::notify {

class CurlTransport final : public Transport {
 public:
  CurlTransport();
  SendOutcome PostWebhook(const WebhookRequest& req) override;
  SendOutcome SendMail(const SmtpSettings& smtp, const MailRequest& req) override;
};

}  // namespace lattice::notify
