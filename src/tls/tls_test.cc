// ServerPki and PinnedClient: the CA is created once and kept; real TLS handshakes over
// loopback sockets succeed only against the pinned CA and the dialled name.
#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <sys/stat.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/random.h"
#include "tls/openssl_util.h"
#include "tls/pinned_client.h"
#include "tls/server_pki.h"
#include "tls/tls_stream.h"

namespace lattice::tls {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using asio::ip::tcp;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    InitCrypto();
    dir_ = fs::temp_directory_path() / ("lattice-tls-test-" + RandomToken(6));
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<ServerPki> Pki(const std::string& sub, std::vector<std::string> names = {}) {
    auto pki = ServerPki::LoadOrCreate((dir_ / sub).string(), PkiOptions{std::move(names)});
    EXPECT_TRUE(pki.ok()) << (pki.ok() ? "" : pki.error().message);
    return pki.ok() ? std::move(pki).value() : nullptr;
  }

  static std::string Slurp(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  // Serves one TLS connection on a loopback port with `server` (echoes 4 bytes), dials it
  // with `client` as `host`, and returns the client's verdict.
  static Status Handshake(asio::ssl::context& server, PinnedClient& client,
                          const std::string& host = "127.0.0.1") {
    asio::io_context ioc;
    tcp::acceptor acceptor(ioc, {asio::ip::make_address("127.0.0.1"), 0});
    const auto port = acceptor.local_endpoint().port();
    asio::co_spawn(
        ioc,
        [&]() -> asio::awaitable<void> {
          auto [aec, sock] = co_await acceptor.async_accept(kNoThrow);
          if (aec) co_return;
          TlsStream s(std::move(sock), server);
          auto [hec] = co_await s.async_handshake(asio::ssl::stream_base::server, kNoThrow);
          if (hec) co_return;
          char buf[4];
          auto [rec, n] = co_await asio::async_read(s, asio::buffer(buf), kNoThrow);
          if (rec) co_return;
          co_await asio::async_write(s, asio::buffer(buf, n), kNoThrow);
        },
        asio::detached);
    Status result = Error::Internal("not run");
    asio::co_spawn(
        ioc,
        [&]() -> asio::awaitable<void> {
          TlsStream s(ioc, client.context());
          auto [cec] = co_await boost::beast::get_lowest_layer(s).async_connect(
              tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), kNoThrow);
          if (cec) co_return void(result = Error::Unavailable(cec.message()));
          if (Status st = client.Prepare(s.native_handle(), host); !st.ok())
            co_return void(result = st);
          boost::beast::get_lowest_layer(s).expires_after(std::chrono::seconds(5));
          auto [hec] = co_await s.async_handshake(asio::ssl::stream_base::client, kNoThrow);
          if (hec)
            co_return void(result = client.HandshakeError(s.native_handle(), hec.message(), host));
          auto [wec, wn] = co_await asio::async_write(s, asio::buffer("ping", 4), kNoThrow);
          char buf[4];
          auto [rec, rn] = co_await asio::async_read(s, asio::buffer(buf), kNoThrow);
          if (wec || rec || std::string(buf, 4) != "ping")
            co_return void(result = Error::Unavailable("no echo"));
          result = Status::Ok();
        },
        asio::detached);
    ioc.run();
    return result;
  }

  fs::path dir_;
};

TEST_F(TlsTest, CaIsCreatedOnceAndReloadedIdentically) {
  auto first = Pki("a", {"cloud.example", "10.0.0.7"});
  ASSERT_TRUE(first);
  EXPECT_EQ(first->Fingerprint().size(), 43u);
  EXPECT_TRUE(IsFingerprint(first->Fingerprint()));
  auto ca = detail::CertFromPem(first->CaCertPem());
  ASSERT_TRUE(ca);
  EXPECT_EQ(first->Fingerprint(), Base64UrlEncode(detail::CertSha256(ca.get())));
  EXPECT_EQ(first->CaCertPem(), Slurp(dir_ / "a" / "ca.crt"));

  auto again = Pki("a");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->Fingerprint(), first->Fingerprint());
  EXPECT_EQ(again->CaCertPem(), first->CaCertPem());
  EXPECT_NE(again->LeafCertPem(), first->LeafCertPem()) << "a fresh leaf at every start";

  auto other = Pki("b");
  ASSERT_TRUE(other);
  EXPECT_NE(other->Fingerprint(), first->Fingerprint());
}

TEST_F(TlsTest, KeyFileIsPrivate) {
  ASSERT_TRUE(Pki("a"));
  struct stat st {};
  ASSERT_EQ(::stat((dir_ / "a" / "ca.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((dir_ / "a").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  for (const auto& e : fs::directory_iterator(dir_ / "a"))
    EXPECT_EQ(e.path().filename().string().find(".tmp"), std::string::npos) << e.path();
}

TEST_F(TlsTest, LeafNamesEveryNameOnce) {
  auto pki = Pki("a", {"Cloud.Example", "[2001:db8::1]", "0.0.0.0", "", "127.0.0.1"});
  ASSERT_TRUE(pki);
  EXPECT_EQ(pki->Names(), (std::vector<std::string>{"cloud.example", "2001:db8::1", "0.0.0.0",
                                                    "127.0.0.1", "localhost", "::1"}));
  auto bad = ServerPki::LoadOrCreate((dir_ / "c").string(), PkiOptions{{"a,DNS:evil"}});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(TlsTest, CertificateWithoutItsKeyIsRefused) {
  ASSERT_TRUE(Pki("a"));
  fs::remove(dir_ / "a" / "ca.key");
  auto pki = ServerPki::LoadOrCreate((dir_ / "a").string(), {});
  ASSERT_FALSE(pki.ok());
  EXPECT_NE(pki.error().message.find("ca.key"), std::string::npos) << pki.error().message;
}

TEST_F(TlsTest, HandshakeSucceedsWithThePinnedCa) {
  auto pki = Pki("a", {"cloud.example"});
  auto client = PinnedClient::Create(pki->Fingerprint());
  ASSERT_TRUE(client.ok());
  for (const char* host : {"127.0.0.1", "localhost"}) {
    Status st = Handshake(pki->server_context(), **client, host);
    EXPECT_TRUE(st.ok()) << host << ": " << (st.ok() ? "" : st.error().message);
  }
}

TEST_F(TlsTest, WrongPinFails) {
  auto pki = Pki("a");
  auto client = PinnedClient::Create(Base64UrlEncode(RandomBytes(32)));
  ASSERT_TRUE(client.ok());
  Status st = Handshake(pki->server_context(), **client);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kUnauthenticated) << st.error().message;
  EXPECT_NE(st.error().message.find("not the server this node trusts"), std::string::npos);
}

TEST_F(TlsTest, ServerFromAnotherCaFails) {
  auto ours = Pki("a");
  auto theirs = Pki("b");
  auto client = PinnedClient::Create(ours->Fingerprint());
  ASSERT_TRUE(client.ok());
  Status st = Handshake(theirs->server_context(), **client);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kUnauthenticated) << st.error().message;
}

TEST_F(TlsTest, OurCaCertInAForeignChainDoesNotHelp) {
  // The CA certificate is public: a server that sends it along with a leaf from another CA
  // must still fail.
  auto ours = Pki("a");
  auto theirs = Pki("b");
  auto ca = detail::CertFromPem(ours->CaCertPem());
  ASSERT_EQ(SSL_CTX_add1_chain_cert(theirs->server_context().native_handle(), ca.get()), 1);
  auto client = PinnedClient::Create(ours->Fingerprint());
  Status st = Handshake(theirs->server_context(), **client);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kUnauthenticated) << st.error().message;
}

TEST_F(TlsTest, UnrelatedSelfSignedCertificateFails) {
  // Another CA's own self-signed certificate as the server certificate, pinned to ours.
  auto ours = Pki("a");
  ASSERT_TRUE(Pki("b"));
  asio::ssl::context self_signed(asio::ssl::context::tls_server);
  self_signed.use_certificate_chain_file((dir_ / "b" / "ca.crt").string());
  self_signed.use_private_key_file((dir_ / "b" / "ca.key").string(), asio::ssl::context::pem);
  auto client = PinnedClient::Create(ours->Fingerprint());
  Status st = Handshake(self_signed, **client);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kUnauthenticated) << st.error().message;
}

TEST_F(TlsTest, NameTheCertificateDoesNotCarryFails) {
  auto pki = Pki("a");
  auto client = PinnedClient::Create(pki->Fingerprint());
  Status st = Handshake(pki->server_context(), **client, "elsewhere.example");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(st.error().message.find("hostname mismatch"), std::string::npos) << st.error().message;
}

TEST_F(TlsTest, FingerprintFormatIsChecked) {
  EXPECT_FALSE(PinnedClient::Create("").ok());
  EXPECT_FALSE(PinnedClient::Create(std::string(43, '!')).ok());
  EXPECT_FALSE(PinnedClient::Create(Base64UrlEncode(RandomBytes(31))).ok());
  EXPECT_TRUE(PinnedClient::Create(Base64UrlEncode(RandomBytes(32))).ok());
}

}  // namespace
}  // namespace lattice::tls
