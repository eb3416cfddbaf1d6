#include "audit/audit_log.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "common/random.h"
#include "store/sqlite/sqlite_store.h"

namespace lattice::audit {
namespace {

namespace fs = std::filesystem;

class AuditLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    InitCrypto();
    dir_ = fs::temp_directory_path() / ("lattice-audit-" + RandomToken(8));
    fs::create_directories(dir_);
    auto s = store::OpenSqliteStore((dir_ / "a.db").string());
    ASSERT_TRUE(s.ok());
    store_ = std::move(s).value();
    log_ = std::make_unique<AuditLog>(*store_, clock_);
  }
  void TearDown() override {
    log_.reset();
    store_.reset();
    fs::remove_all(dir_);
  }
  std::vector<store::AuditEvent> All() { return *store_->ListAudit(0, 100); }

  fs::path dir_;
  ManualClock clock_{1000};
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<AuditLog> log_;
};

TEST_F(AuditLogTest, RecordsWhoWhatWhenWhereAndOutcome) {
  const Principal alice{"usr_a", "alice@x.io", "user", "ses_1", 0};
  log_->Success(Actor::Of(alice), "workload.create", "wl_1", "10.0.0.7");
  clock_.Advance(5);
  log_->Failure(Actor::Anonymous(), "auth.login", "", "10.0.0.8",
                Error::Unauthenticated("The email or password is incorrect."));
  const auto events = All();
  ASSERT_EQ(events.size(), 2u);
  const store::AuditEvent& failed = events[0];  // newest first
  EXPECT_EQ(failed.at, 1005);
  EXPECT_EQ(failed.actor_id, "");
  EXPECT_EQ(failed.action, "auth.login");
  EXPECT_EQ(failed.client_address, "10.0.0.8");
  EXPECT_EQ(failed.outcome, "failure");
  EXPECT_EQ(failed.detail, "The email or password is incorrect.");
  const store::AuditEvent& created = events[1];
  EXPECT_EQ(created.at, 1000);
  EXPECT_EQ(created.actor_id, "usr_a");
  EXPECT_EQ(created.actor_email, "alice@x.io");
  EXPECT_EQ(created.target, "wl_1");
  EXPECT_EQ(created.outcome, "success");
}

TEST_F(AuditLogTest, OutcomeOfAResult) {
  log_->Outcome(Actor::Anonymous(), "x.ok", "t", "", Result<int>(1));
  log_->Outcome(Actor::Anonymous(), "x.bad", "t", "", Result<int>(Error::Conflict("busy")));
  const auto events = All();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].outcome, "failure");
  EXPECT_EQ(events[0].detail, "busy");
  EXPECT_EQ(events[1].outcome, "success");
}

TEST_F(AuditLogTest, InternalErrorsDoNotLeakTheirCause) {
  log_->Failure(Actor::Anonymous(), "x", "", "", Error::Internal("sqlite: disk I/O at /secret"));
  EXPECT_EQ(All()[0].detail.find("/secret"), std::string::npos);
}

TEST_F(AuditLogTest, FieldsAreBoundedWithoutSplittingCharacters) {
  const std::string target(200, 'w');
  std::string detail;
  for (int i = 0; i < 400; ++i) detail += "é";  // 2 bytes each
  log_->Success(Actor::Anonymous(), "x", target, "", detail);
  const auto e = All()[0];
  EXPECT_EQ(e.target.size(), 128u);
  EXPECT_LE(e.detail.size(), 512u);
  EXPECT_EQ(e.detail.size() % 2, 0u);  // whole characters only
}

}  // namespace
}  // namespace lattice::audit
