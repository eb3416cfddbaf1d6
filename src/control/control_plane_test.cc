// ControlPlane on a real SQLite store with a manual clock, no agents: the stored-spec format
// migration and admission at create.
#include "control/control_plane.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "common/secretbox.h"
#include "store/sqlite/sqlite_store.h"
#include "templates/spec_storage.h"

namespace lattice::control {
namespace {

class ControlPlaneTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("lattice-cp-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    auto s = store::sqlite::SqliteStore::Open((dir_ / "lattice.db").string());
    ASSERT_TRUE(s.ok()) << s.error().message;
    store_ = std::move(s).value();
    auto u = store_->CreateUser({"usr_1", "a@x.io", "hash", "user", 1, 1}, {});
    ASSERT_TRUE(u.ok()) << u.error().message;
    owner_ = {u->id, u->email, u->role, "", 1};
    cp_ = std::make_unique<ControlPlane>(*store_, clock_, keys_, events_, hub_, cluster_,
                                         ControlOptions{});
  }
  void TearDown() override {
    cp_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  // A workload row as an older server wrote it: the spec in the link codec's layout.
  store::Workload LegacyRow(const std::string& id) {
    store::Workload w;
    w.id = id;
    w.owner_id = owner_.user_id;
    w.name = id.substr(3);
    w.template_name = "custom";
    w.image = "lattice/busybox:dev";
    w.spec_enc =
        Seal(R"({"image":"lattice/busybox:dev","env":[],"command":["sleep","9"],"ports":[],)"
             R"("volumes":[],"memory_mb":0,"cpus":0,"readiness":{"kind":"running","port":0,)"
             R"("path":"","username":"","password":"","database":""}})",
             keys_.secrets_key());
    w.credentials_enc = Seal("{}", keys_.secrets_key());
    w.created_at = w.updated_at = 1;
    return w;
  }

  int FormatOf(const std::string& id) {
    auto w = store_->GetWorkload(id);
    if (!w.ok()) return -1;
    auto text = Open(w->spec_enc, keys_.secrets_key());
    if (!text.ok()) return -1;
    auto stored = templates::DecodeStoredSpec(*text);
    return stored.ok() ? stored->format : -1;
  }

  std::filesystem::path dir_;
  ManualClock clock_{1000};
  Keyring keys_ = Keyring::FromMaster(std::string(32, 'k'));
  EventBus events_;
  AgentHub hub_;
  SoloCluster cluster_{"rep_test"};
  std::unique_ptr<store::sqlite::SqliteStore> store_;
  Principal owner_;
  std::unique_ptr<ControlPlane> cp_;
};

TEST_F(ControlPlaneTest, OlderStoredSpecsAreRewrittenInTheCurrentFormatOnce) {
  ASSERT_TRUE(store_->CreateWorkload(LegacyRow("wl_old"), {}).ok());
  templates::WorkloadRequest req;
  req.name = "new";
  req.template_name = "custom";
  req.image = "lattice/busybox:dev";
  auto created = cp_->CreateWorkload(owner_, req);
  ASSERT_TRUE(created.ok()) << created.error().message;
  const std::string new_id = created->w.id;
  EXPECT_EQ(FormatOf("wl_old"), 0);
  EXPECT_EQ(FormatOf(new_id), templates::kSpecFormat);  // written in the current format

  EXPECT_EQ(cp_->MigrateStoredSpecs(), 1);
  EXPECT_EQ(FormatOf("wl_old"), templates::kSpecFormat);
  EXPECT_EQ(cp_->MigrateStoredSpecs(), 0);  // idempotent
  auto text = Open(store_->GetWorkload("wl_old")->spec_enc, keys_.secrets_key());
  ASSERT_TRUE(text.ok());
  auto stored = templates::DecodeStoredSpec(*text);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->spec.command, (std::vector<std::string>{"sleep", "9"}));
}

TEST_F(ControlPlaneTest, CreateRefusesWhatTheAdmissionPolicyDoesNotAllow) {
  templates::WorkloadRequest req;
  req.name = "probe";
  req.template_name = "custom";
  req.image = "127.0.0.1:5000/scan:1";
  auto refused = cp_->CreateWorkload(owner_, req);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(refused.error().type, "not-allowed");
  ASSERT_EQ(refused.error().fields.size(), 1u);
  EXPECT_EQ(refused.error().fields[0].field, "image");
  EXPECT_TRUE(store_->ListWorkloads({})->empty());  // nothing half-written
}

}  // namespace
}  // namespace lattice::control
