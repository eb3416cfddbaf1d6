#include "notify/curl_transport.h"

#include <curl/curl.h>

#include <ctime>
#include <memory>
#include <mutex>

namespace lattice::notify {
namespace {

struct CurlFree {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistFree {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using Easy = std::unique_ptr<CURL, CurlFree>;
using Slist = std::unique_ptr<curl_slist, SlistFree>;

// Discards a response body, keeping at most a few hundred bytes for the log.
std::size_t KeepSome(char* data, std::size_t size, std::size_t n, void* user) {
  auto* out = static_cast<std::string*>(user);
  const std::size_t len = size * n;
  if (out->size() < 200) out->append(data, std::min(len, 200 - out->size()));
  return len;
}

// Errors where the receiver may well answer later: nothing reached it, or it did not finish.
bool Transient(CURLcode rc) {
  switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PARTIAL_FILE:
      return true;
    default:
      return false;
  }
}

void Common(CURL* c, const std::string& url, std::chrono::milliseconds timeout, char* errbuf) {
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(std::min<std::int64_t>(timeout.count(), 10000)));
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https,smtp,smtps");
  errbuf[0] = '\0';
}

std::string Describe(CURLcode rc, const char* errbuf) {
  return errbuf[0] != '\0' ? std::string(errbuf) : std::string(curl_easy_strerror(rc));
}

// RFC 5322 date, UTC.
std::string MailDate() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return buf;
}

struct Reader {
  std::string data;
  std::size_t at = 0;
};
std::size_t ReadSome(char* buf, std::size_t size, std::size_t n, void* user) {
  auto* r = static_cast<Reader*>(user);
  const std::size_t len = std::min(size * n, r->data.size() - r->at);
  r->data.copy(buf, len, r->at);
  r->at += len;
  return len;
}

// Bare LFs become CRLF, as SMTP wants.
std::string Crlf(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r')) out += '\r';
    out += text[i];
  }
  return out;
}

}  // namespace

CurlTransport::CurlTransport() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

SendOutcome CurlTransport::PostWebhook(const WebhookRequest& req) {
  Easy c(curl_easy_init());
  if (!c) return {false, true, 0, "cannot start an HTTP request"};
  char errbuf[CURL_ERROR_SIZE];
  Common(c.get(), req.url, req.timeout, errbuf);
  curl_slist* raw = nullptr;
  for (const auto& [name, value] : req.headers)
    raw = curl_slist_append(raw, (name + ": " + value).c_str());
  raw = curl_slist_append(raw, "Expect:");  // no 100-continue round trip
  Slist headers(raw);
  std::string response;
  curl_easy_setopt(c.get(), CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c.get(), CURLOPT_POSTFIELDS, req.body.data());
  curl_easy_setopt(c.get(), CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
  curl_easy_setopt(c.get(), CURLOPT_WRITEFUNCTION, KeepSome);
  curl_easy_setopt(c.get(), CURLOPT_WRITEDATA, &response);
  curl_easy_setopt(c.get(), CURLOPT_USERAGENT, "lattice-notify/1");
  const CURLcode rc = curl_easy_perform(c.get());
  if (rc != CURLE_OK) return {false, Transient(rc), 0, Describe(rc, errbuf)};
  long status = 0;
  curl_easy_getinfo(c.get(), CURLINFO_RESPONSE_CODE, &status);
  SendOutcome out;
  out.code = static_cast<int>(status);
  out.detail = "HTTP " + std::to_string(status);
  out.ok = status >= 200 && status < 300;
  out.retry = status >= 500 || status == 429 || status == 408;
  return out;
}

SendOutcome CurlTransport::SendMail(const SmtpSettings& smtp, const MailRequest& req) {
  if (!smtp.configured()) return {false, false, 0, "e-mail is not configured on this server"};
  Easy c(curl_easy_init());
  if (!c) return {false, true, 0, "cannot start an SMTP session"};
  char errbuf[CURL_ERROR_SIZE];
  Common(c.get(), smtp.url, req.timeout, errbuf);
  if (!smtp.user.empty()) {
    curl_easy_setopt(c.get(), CURLOPT_USERNAME, smtp.user.c_str());
    curl_easy_setopt(c.get(), CURLOPT_PASSWORD, smtp.password.c_str());
    // Credentials only over TLS: STARTTLS on smtp://, implicit TLS on smtps://.
    curl_easy_setopt(c.get(), CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));
  }
  const std::string from = "<" + smtp.from + ">";
  const std::string to = "<" + req.to + ">";
  curl_easy_setopt(c.get(), CURLOPT_MAIL_FROM, from.c_str());
  Slist rcpt(curl_slist_append(nullptr, to.c_str()));
  curl_easy_setopt(c.get(), CURLOPT_MAIL_RCPT, rcpt.get());
  Reader message;
  message.data = Crlf("Date: " + MailDate() + "\nFrom: Lattice <" + smtp.from + ">\nTo: <" +
                      req.to + ">\nSubject: " + req.subject + "\nMessage-ID: <" + req.message_id +
                      ">\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
                      "Content-Transfer-Encoding: 8bit\nAuto-Submitted: auto-generated\n\n" +
                      req.text + "\n");
  curl_easy_setopt(c.get(), CURLOPT_READFUNCTION, ReadSome);
  curl_easy_setopt(c.get(), CURLOPT_READDATA, &message);
  curl_easy_setopt(c.get(), CURLOPT_UPLOAD, 1L);
  const CURLcode rc = curl_easy_perform(c.get());
  long code = 0;
  curl_easy_getinfo(c.get(), CURLINFO_RESPONSE_CODE, &code);
  SendOutcome out;
  out.code = static_cast<int>(code);
  if (rc == CURLE_OK) {
    out.ok = true;
    out.detail = "SMTP " + std::to_string(code) + " accepted";
    return out;
  }
  out.detail =
      (code != 0 ? "SMTP " + std::to_string(code) + ": " : std::string()) + Describe(rc, errbuf);
  // A 5xx reply is the relay's final word (no such mailbox, relaying denied); a 4xx is not.
  out.retry = code >= 500 ? false : Transient(rc) || (code >= 400 && code < 500);
  return out;
}

}  // namespace lattice::notify
