#include "cli/api_client.h"

#include <gtest/gtest.h>

namespace lattice::cli {
namespace {

HttpResponse Problem(int status, std::string body, std::string retry_after = "") {
  return {status, "application/problem+json", std::move(retry_after), std::move(body)};
}

TEST(cli_api_errors, ValidationProblemKeepsDetailAndEveryField) {
  const Error e = ErrorFromResponse(
      Problem(400, R"({"type":"urn:lattice:problem:validation-error","title":"Bad Request",
        "status":400,"detail":"The workload request is not valid.","errors":[
        {"field":"name","message":"must be a DNS label"},
        {"field":"ports[0].port","message":"must be between 1 and 65535"}]})"),
      true);
  EXPECT_EQ(e.code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(FormatError(e),
            "The workload request is not valid.\n"
            "  name: must be a DNS label\n"
            "  ports[0].port: must be between 1 and 65535");
}

TEST(cli_api_errors, UnauthorizedWithATokenMeansSignInAgain) {
  const HttpResponse r = Problem(401, R"({"status":401,"detail":"Missing or invalid token."})");
  const Error with_token = ErrorFromResponse(r, true);
  EXPECT_EQ(with_token.code, ErrorCode::kUnauthenticated);
  EXPECT_EQ(with_token.message, "not signed in (or the session expired): run `lattice login`");
  // Without a token (signing in) the server's own words are the useful ones.
  EXPECT_EQ(ErrorFromResponse(r, false).message, "Missing or invalid token.");
}

TEST(cli_api_errors, RateLimitSaysWhenToRetry) {
  const Error e =
      ErrorFromResponse(Problem(429, R"({"detail":"Too many attempts."})", "30"), false);
  EXPECT_EQ(e.code, ErrorCode::kRateLimited);
  EXPECT_EQ(e.retry_after_seconds, 30);
  EXPECT_EQ(e.message, "Too many attempts. — try again in 30s");
}

TEST(cli_api_errors, ConflictAndNotFoundKeepTheDetail) {
  EXPECT_EQ(
      ErrorFromResponse(Problem(409, R"({"detail":"A workload named db exists."})"), true).code,
      ErrorCode::kConflict);
  EXPECT_EQ(ErrorFromResponse(Problem(404, R"({"detail":"No such workload."})"), true).message,
            "No such workload.");
}

TEST(cli_api_errors, ServerFailuresSayWhereToLook) {
  EXPECT_NE(ErrorFromResponse(Problem(500, R"({"detail":"Unexpected."})"), true)
                .message.find("server's log"),
            std::string::npos);
  const Error e = ErrorFromResponse(Problem(503, R"({"detail":"Node offline."})"), true);
  EXPECT_EQ(e.code, ErrorCode::kUnavailable);
  EXPECT_EQ(e.message, "Node offline. — try again shortly");
  const Error busy =
      ErrorFromResponse(Problem(503, R"({"detail":"The server is busy."})", "2"), true);
  EXPECT_EQ(busy.code, ErrorCode::kUnavailable);
  EXPECT_EQ(busy.retry_after_seconds, 2);
  EXPECT_EQ(busy.message, "The server is busy. — try again in 2s");
}

TEST(cli_api_errors, NonProblemBodyStillGivesAReadableMessage) {
  const Error e = ErrorFromResponse({502, "text/html", "", "<html>bad gateway</html>"}, true);
  EXPECT_EQ(e.code, ErrorCode::kUnavailable);
  EXPECT_NE(e.message.find("HTTP 502"), std::string::npos);
  EXPECT_NE(e.message.find("--server"), std::string::npos);
}

TEST(cli_server_url, AcceptsHttpUrlsAndHostPort) {
  auto u = ParseServerUrl("http://127.0.0.1:8080");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, "8080");
  EXPECT_EQ(u->ToString(), "http://127.0.0.1:8080");
  EXPECT_EQ(ParseServerUrl("localhost:9000")->ToString(), "http://localhost:9000");
  EXPECT_EQ(ParseServerUrl("HTTP://Cloud.Example/")->ToString(), "http://cloud.example");
  EXPECT_EQ(ParseServerUrl("http://cloud.example:80")->port, "80");
  EXPECT_EQ(ParseServerUrl("https://cloud.example")->port, "443");
  auto prefixed = ParseServerUrl("http://h:1/lattice/");
  EXPECT_EQ(prefixed->base_path, "/lattice");
  EXPECT_EQ(prefixed->ToString(), "http://h:1/lattice");
  auto v6 = ParseServerUrl("http://[::1]:8080");
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->HostHeader(), "[::1]:8080");
}

TEST(cli_server_url, RejectsWhatIsNotAServerUrl) {
  for (const char* bad : {"", "ftp://h", "http://", "http://u:p@h:1", "http://h:1/?q=1",
                          "http://h:99999", "http://h:0"}) {
    auto u = ParseServerUrl(bad);
    ASSERT_FALSE(u.ok()) << bad;
    EXPECT_NE(u.error().message.find("LATTICE_SERVER"), std::string::npos) << u.error().message;
  }
}

TEST(cli_server_url, HttpsIsRecognisedButNotYetSupported) {
  auto t = NewHttpTransport(*ParseServerUrl("https://cloud.example"));
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.error().message.find("https://"), std::string::npos);
}

}  // namespace
}  // namespace lattice::cli
