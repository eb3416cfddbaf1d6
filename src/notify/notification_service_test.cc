// NotificationService on a real SQLite store with a manual clock, delivering through the real
// libcurl transport to an HTTP receiver in the test (port 0): the signature, which channels an
// alert reaches, the retry schedule, retries then `failed`, a test notification, and the
// API's validation and owner scope.
#include "notify/notification_service.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <map>

#include "common/random.h"
#include "notify/curl_transport.h"
#include "notify/signature.h"
#include "store/testing/temp_sqlite.h"

namespace lattice::notify {
namespace {

constexpr std::int64_t kNow = 1'800'000'000;

// A one-request-at-a-time HTTP server on 127.0.0.1:0 that records each request and answers
// with `status` (changeable between requests).
class Receiver {
 public:
  struct Request {
    std::map<std::string, std::string> headers;  // names lowercased
    std::string body;
  };

  Receiver() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    ::listen(fd_, 8);
    thread_ = std::thread([this] { Serve(); });
  }
  ~Receiver() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  std::string Url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hook"; }
  void SetStatus(int s) { status_ = s; }
  std::vector<Request> Requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  void Serve() {
    while (!stop_) {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      std::string data;
      char buf[4096];
      std::size_t need = std::string::npos;
      while (need == std::string::npos || data.size() < need) {
        ssize_t n = ::read(c, buf, sizeof buf);
        if (n <= 0) break;
        data.append(buf, static_cast<std::size_t>(n));
        if (auto end = data.find("\r\n\r\n");
            end != std::string::npos && need == std::string::npos) {
          Request r;
          std::size_t pos = data.find("\r\n") + 2;
          while (pos < end) {
            std::size_t eol = data.find("\r\n", pos);
            std::string line = data.substr(pos, eol - pos);
            auto colon = line.find(':');
            std::string name = line.substr(0, colon);
            for (auto& ch : name) ch = static_cast<char>(std::tolower(ch));
            r.headers[name] = line.substr(line.find_first_not_of(' ', colon + 1));
            pos = eol + 2;
          }
          need = end + 4 + std::stoul(r.headers["content-length"]);
          pending_ = std::move(r);
        }
      }
      pending_.body = data.substr(data.find("\r\n\r\n") + 4);
      {
        std::lock_guard lock(mu_);
        requests_.push_back(pending_);
      }
      const std::string reply = "HTTP/1.1 " + std::to_string(status_.load()) +
                                " X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
      (void)::write(c, reply.data(), reply.size());
      ::close(c);
    }
  }

  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> status_{200};
  std::mutex mu_;
  std::vector<Request> requests_;
  Request pending_;
  std::thread thread_;
};

// A port nothing listens on (bound, then closed).
int ClosedPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

class NotificationServiceTest : public ::testing::Test {
 protected:
  void SetUp() override { InitCrypto(); }
  NotifyOptions Options() {
    NotifyOptions o;
    o.max_attempts = 3;
    o.retry_base_seconds = 10;
    o.send_timeout = std::chrono::milliseconds(3000);
    return o;
  }
  control::Alert Failed(const std::string& owner) {
    return {control::AlertKind::kWorkloadFailed, owner, "wl_1", "db", "node_1", "",
            "the container exited with code 1",  kNow};
  }

  store::testing::TempSqlite db_{"lattice-notify"};
  ManualClock clock_{kNow};
  Keyring keys_ = Keyring::FromMaster(std::string(32, 'k'));
  CurlTransport transport_;
  Principal alice_{"usr_1", "a@x.io", "user", "", 0};
  Principal bob_{"usr_2", "b@x.io", "user", "", 0};
  Principal admin_{"usr_0", "root@x.io", "admin", "", 0};
};

TEST(WebhookSignature, IsHmacSha256OfTimestampDotBody) {
  // python3: hmac.new(b"whsec_test", b'1700000000.{"a":1}', hashlib.sha256).hexdigest()
  EXPECT_EQ(SignWebhook("whsec_test", 1700000000, R"({"a":1})"),
            "sha256=38877139021993b830af32feea6e18a8da83eb2f6e49ee50bd9e4cf4ca4d3789");
}

TEST_F(NotificationServiceTest, AnAlertReachesTheOwnersSubscribedWebhookSigned) {
  Receiver rx;
  NotificationService svc(db_.store(), clock_, keys_, transport_, Options());
  auto mine = svc.CreateChannel(alice_, {"webhook", rx.Url(), "", {"workload.failed"}});
  ASSERT_TRUE(mine.ok()) << mine.error().message;
  ASSERT_EQ(mine->secret.rfind("whsec_", 0), 0u);
  EXPECT_EQ(mine->channel.secret_enc.find(mine->secret), std::string::npos) << "sealed";
  // Not subscribed to the kind, and someone else's: neither hears of it.
  ASSERT_TRUE(svc.CreateChannel(alice_, {"webhook", rx.Url(), "", {"backup.failed"}}).ok());
  ASSERT_TRUE(svc.CreateChannel(bob_, {"webhook", rx.Url(), "", {}}).ok());

  svc.Raise(Failed(alice_.user_id));
  svc.Pump();

  auto got = rx.Requests();
  ASSERT_EQ(got.size(), 1u);
  const auto& r = got[0];
  EXPECT_EQ(r.headers.at("content-type"), "application/json");
  EXPECT_EQ(r.headers.at("x-lattice-event"), "workload.failed");
  EXPECT_EQ(r.headers.at("x-lattice-timestamp"), std::to_string(kNow));
  EXPECT_EQ(r.headers.at("x-lattice-signature"), SignWebhook(mine->secret, kNow, r.body));
  auto body = boost::json::parse(r.body).as_object();
  EXPECT_EQ(body["kind"], "workload.failed");
  EXPECT_EQ(body["workload"].as_object()["name"], "db");
  EXPECT_EQ(body["message"], "the container exited with code 1");
  EXPECT_EQ(body["id"].as_string(), r.headers.at("x-lattice-delivery"));

  auto log = svc.Deliveries(alice_, mine->channel.id, 10);
  ASSERT_TRUE(log.ok());
  ASSERT_EQ(log->size(), 1u);
  EXPECT_EQ((*log)[0].status, store::DeliveryStatus::kDelivered);
  EXPECT_EQ((*log)[0].last_code, 200);
  EXPECT_EQ((*log)[0].attempts, 1);
}

TEST_F(NotificationServiceTest, ServerErrorsAreRetriedWithBackoffThenFail) {
  Receiver rx;
  rx.SetStatus(503);
  NotificationService svc(db_.store(), clock_, keys_, transport_, Options());
  EXPECT_EQ(svc.RetryDelay(1), 10);
  EXPECT_EQ(svc.RetryDelay(2), 20);
  EXPECT_EQ(svc.RetryDelay(3), 40);
  auto ch = svc.CreateChannel(alice_, {"webhook", rx.Url(), "", {}});
  ASSERT_TRUE(ch.ok());
  svc.Raise(Failed(alice_.user_id));
  svc.Pump();
  ASSERT_EQ(rx.Requests().size(), 1u);
  auto d = (*svc.Deliveries(alice_, ch->channel.id, 1))[0];
  EXPECT_EQ(d.status, store::DeliveryStatus::kPending);
  EXPECT_EQ(d.attempts, 1);
  EXPECT_EQ(d.last_code, 503);
  EXPECT_EQ(d.next_attempt_at, kNow + 10);

  clock_.Advance(9);
  svc.Pump();
  EXPECT_EQ(rx.Requests().size(), 1u) << "not due yet";
  clock_.Advance(1);
  svc.Pump();
  EXPECT_EQ(rx.Requests().size(), 2u);
  // Each attempt is signed with its own timestamp.
  EXPECT_EQ(rx.Requests()[1].headers.at("x-lattice-timestamp"), std::to_string(kNow + 10));
  clock_.Advance(20);
  svc.Pump();
  ASSERT_EQ(rx.Requests().size(), 3u);
  d = (*svc.Deliveries(alice_, ch->channel.id, 1))[0];
  EXPECT_EQ(d.status, store::DeliveryStatus::kFailed);
  EXPECT_EQ(d.attempts, 3);
  EXPECT_EQ(d.last_result, "HTTP 503");
  clock_.Advance(1000);
  svc.Pump();
  EXPECT_EQ(rx.Requests().size(), 3u) << "failed is final";
}

TEST_F(NotificationServiceTest, ARefusedConnectionIsRetriedAndAClientErrorIsNot) {
  NotificationService svc(db_.store(), clock_, keys_, transport_, Options());
  auto down = svc.CreateChannel(
      alice_, {"webhook", "http://127.0.0.1:" + std::to_string(ClosedPort()) + "/", "", {}});
  ASSERT_TRUE(down.ok());
  svc.Raise(Failed(alice_.user_id));
  svc.Pump();
  auto d = (*svc.Deliveries(alice_, down->channel.id, 1))[0];
  EXPECT_EQ(d.status, store::DeliveryStatus::kPending);
  EXPECT_EQ(d.last_code, 0);
  EXPECT_FALSE(d.last_result.empty());
  ASSERT_TRUE(svc.DeleteChannel(alice_, down->channel.id).ok());

  Receiver rx;
  rx.SetStatus(404);
  auto gone = svc.CreateChannel(alice_, {"webhook", rx.Url(), "", {}});
  ASSERT_TRUE(gone.ok());
  auto t = svc.SendTest(alice_, gone->channel.id);
  ASSERT_TRUE(t.ok());
  svc.Pump();
  d = (*svc.Deliveries(alice_, gone->channel.id, 1))[0];
  EXPECT_EQ(d.kind, "test");
  EXPECT_EQ(d.status, store::DeliveryStatus::kFailed);
  EXPECT_EQ(d.attempts, 1);
  EXPECT_EQ(d.last_code, 404);
}

TEST_F(NotificationServiceTest, TheDispatcherThreadDeliversATest) {
  Receiver rx;
  NotificationService svc(db_.store(), clock_, keys_, transport_, Options());
  svc.Start();
  auto ch = svc.CreateChannel(alice_, {"webhook", rx.Url(), "", {}});
  ASSERT_TRUE(ch.ok());
  ASSERT_TRUE(svc.SendTest(alice_, ch->channel.id).ok());
  for (int i = 0; i < 100 && rx.Requests().empty(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  svc.Stop();
  ASSERT_EQ(rx.Requests().size(), 1u);
  EXPECT_EQ(rx.Requests()[0].headers.at("x-lattice-event"), "test");
}

TEST_F(NotificationServiceTest, NodeEventsReachAdminChannelsOnly) {
  Receiver rx;
  NotificationService svc(db_.store(), clock_, keys_, transport_, Options());
  EXPECT_EQ(svc.CreateChannel(alice_, {"webhook", rx.Url(), "", {"node.down"}}).error().code,
            ErrorCode::kPermissionDenied);
  auto user_default = svc.CreateChannel(alice_, {"webhook", rx.Url(), "", {}});
  ASSERT_TRUE(user_default.ok());
  EXPECT_EQ(user_default->channel.events, NotificationService::KindsFor(false));
  auto admin = svc.CreateChannel(admin_, {"webhook", rx.Url(), "", {}});
  ASSERT_TRUE(admin.ok());
  EXPECT_EQ(admin->channel.events.size(), NotificationService::KindsFor(true).size());

  control::Alert down{control::AlertKind::kNodeDown, "", "", "", "node_1", "", "silent", kNow};
  svc.Raise(down);
  svc.Pump();
  ASSERT_EQ(rx.Requests().size(), 1u);
  EXPECT_EQ(rx.Requests()[0].headers.at("x-lattice-event"), "node.down");
  EXPECT_EQ(svc.Deliveries(admin_, admin->channel.id, 5)->size(), 1u);
  EXPECT_TRUE(svc.Deliveries(alice_, user_default->channel.id, 5)->empty());
}

TEST_F(NotificationServiceTest, RequestsAreValidatedAndOwnerScoped) {
  NotificationService svc(db_.store(), clock_, keys_, transport_, Options());
  EXPECT_EQ(svc.CreateChannel(alice_, {"sms", "", "", {}}).error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(svc.CreateChannel(alice_, {"webhook", "ftp://x/y", "", {}}).error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(svc.CreateChannel(alice_, {"webhook", "not a url", "", {}}).error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(
      svc.CreateChannel(alice_, {"webhook", "http://x/", "", {"workload.exploded"}}).error().code,
      ErrorCode::kInvalidArgument);
  EXPECT_EQ(svc.CreateChannel(alice_, {"email", "", "a@x.io\r\nBcc: z@y", {}}).error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(svc.CreateChannel(alice_, {"email", "", "ops@example.com", {}}).error().code,
            ErrorCode::kConflict)
      << "no SMTP relay configured";

  auto ch = svc.CreateChannel(alice_, {"webhook", "https://hooks.example.com/x", "", {}});
  ASSERT_TRUE(ch.ok());
  EXPECT_EQ(svc.GetChannel(bob_, ch->channel.id).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(svc.SendTest(bob_, ch->channel.id).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(svc.Deliveries(bob_, ch->channel.id, 5).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(svc.DeleteChannel(bob_, ch->channel.id).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(svc.ListChannels(bob_)->size(), 0u);
  EXPECT_EQ(svc.ListChannels(alice_)->size(), 1u);
  ASSERT_TRUE(svc.DeleteChannel(alice_, ch->channel.id).ok());
  EXPECT_EQ(svc.ListChannels(alice_)->size(), 0u);
}

TEST_F(NotificationServiceTest, OldDeliveriesArePruned) {
  Receiver rx;
  NotifyOptions o = Options();
  o.keep_seconds = 100;
  NotificationService svc(db_.store(), clock_, keys_, transport_, o);
  auto ch = svc.CreateChannel(alice_, {"webhook", rx.Url(), "", {}});
  ASSERT_TRUE(ch.ok());
  svc.Raise(Failed(alice_.user_id));
  svc.Pump();
  svc.Tick();
  EXPECT_EQ(svc.Deliveries(alice_, ch->channel.id, 5)->size(), 1u);
  clock_.Advance(101);
  svc.Tick();
  EXPECT_EQ(svc.Deliveries(alice_, ch->channel.id, 5)->size(), 1u) << "pruned every 10 min";
  clock_.Advance(500);
  svc.Tick();
  EXPECT_TRUE(svc.Deliveries(alice_, ch->channel.id, 5)->empty());
}

}  // namespace
}  // namespace lattice::notify
