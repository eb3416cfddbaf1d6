// Transport: how a notification leaves the server — an HTTP(S) POST to a webhook, or a mail
// handed to an SMTP relay. CurlTransport (curl_transport.h) is the real one; the service's unit
// tests use it too, against local receivers. Calls block up to their timeout: run them only on
// the notification dispatcher's thread. Implementations must be thread-safe.
#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace lattice::notify {

// The outcome of one attempt.
struct SendOutcome {
  bool ok = false;     // delivered (2xx; the relay accepted the mail)
  bool retry = false;  // worth trying again: no connection, a timeout, 5xx or 429, SMTP 4xx
  int code = 0;        // the HTTP status or the SMTP reply code; 0 if none came
  std::string detail;  // what happened, for the delivery log ("HTTP 503", "connection refused")
};

struct WebhookRequest {
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::chrono::milliseconds timeout{10000};
};

// The SMTP relay (server settings --smtp-url, --smtp-from, --smtp-user, --smtp-password).
struct SmtpSettings {
  std::string url;  // smtp://host:port or smtps://host:port; empty: e-mail is not configured
  std::string from;
  std::string user;
  std::string password;
  bool configured() const { return !url.empty() && !from.empty(); }
};

struct MailRequest {
  std::string to;
  std::string subject;
  std::string text;  // plain text body
  std::string message_id;
  std::chrono::milliseconds timeout{20000};
};

class Transport {
 public:
  virtual ~Transport() = default;
  virtual SendOutcome PostWebhook(const WebhookRequest& req) = 0;
  virtual SendOutcome SendMail(const SmtpSettings& smtp, const MailRequest& req) = 0;
};

}  // namespace lattice::notify
