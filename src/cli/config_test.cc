#include "cli/config.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

namespace lattice::cli {
namespace {

namespace fs = std::filesystem;

class cli_config : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("lattice-cli-config-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  static unsigned Mode(const fs::path& p) {
    struct stat st {};
    EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
    return st.st_mode & 0777;
  }

  fs::path dir_;
};

TEST_F(cli_config, PathFollowsXdgThenHome) {
  EXPECT_EQ(*ConfigPath("/x/conf", "/home/u"), fs::path("/x/conf/lattice/config.json"));
  EXPECT_EQ(*ConfigPath(nullptr, "/home/u"), fs::path("/home/u/.config/lattice/config.json"));
  // XDG says a relative value is to be ignored.
  EXPECT_EQ(*ConfigPath("relative", "/home/u"), fs::path("/home/u/.config/lattice/config.json"));
  EXPECT_FALSE(ConfigPath(nullptr, nullptr).ok());
  EXPECT_FALSE(ConfigPath("", "").ok());
}

TEST_F(cli_config, MissingFileIsAnEmptyLogin) {
  auto l = LoadConfig(dir_ / "lattice" / "config.json");
  ASSERT_TRUE(l.ok());
  EXPECT_TRUE(l->token.empty());
  EXPECT_TRUE(l->server.empty());
}

TEST_F(cli_config, SaveCreatesAPrivateDirectoryAndFileAndRoundTrips) {
  const fs::path path = dir_ / "lattice" / "config.json";
  const SavedLogin in{"http://127.0.0.1:8080", "a@example.com", "tok.en", "2030-01-01T00:00:00Z"};
  ASSERT_TRUE(SaveConfig(path, in).ok());
  EXPECT_EQ(Mode(path.parent_path()), 0700u);
  EXPECT_EQ(Mode(path), 0600u);
  auto out = LoadConfig(path);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->server, in.server);
  EXPECT_EQ(out->email, in.email);
  EXPECT_EQ(out->token, in.token);
  EXPECT_EQ(out->expires_at, in.expires_at);
}

TEST_F(cli_config, SaveReplacesAnExistingFileAtomicallyAndTightensItsMode) {
  const fs::path path = dir_ / "config.json";
  { std::ofstream(path) << "{\"token\":\"old\"}"; }
  ::chmod(path.c_str(), 0644);
  ASSERT_TRUE(SaveConfig(path, {"http://h:1", "e", "new", ""}).ok());
  EXPECT_EQ(Mode(path), 0600u);
  EXPECT_EQ(LoadConfig(path)->token, "new");
  // No temporary file is left behind.
  int files = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir_)) ++files;
  EXPECT_EQ(files, 1);
}

TEST_F(cli_config, MalformedFileSaysHowToRecover) {
  const fs::path path = dir_ / "config.json";
  std::ofstream(path) << "not json";
  auto l = LoadConfig(path);
  ASSERT_FALSE(l.ok());
  EXPECT_NE(l.error().message.find("lattice login"), std::string::npos);
}

TEST(cli_target, ServerIsTheFlagThenTheSavedOneThenTheDefault) {
  const SavedLogin saved{"http://saved:9000", "e", "tok", ""};
  EXPECT_EQ(ResolveTarget("http://flag:1", nullptr, saved)->server.ToString(), "http://flag:1");
  EXPECT_EQ(ResolveTarget("", nullptr, saved)->server.ToString(), "http://saved:9000");
  EXPECT_EQ(ResolveTarget("", nullptr, {})->server.ToString(), kDefaultServer);
  EXPECT_FALSE(ResolveTarget("ftp://x", nullptr, saved).ok());
}

TEST(cli_target, SavedTokenIsOnlySentToTheServerThatIssuedIt) {
  const SavedLogin saved{"http://saved:9000", "e", "tok", ""};
  EXPECT_EQ(ResolveTarget("", nullptr, saved)->token, "tok");
  EXPECT_EQ(ResolveTarget("HTTP://SAVED:9000/", nullptr, saved)->token, "tok");
  EXPECT_EQ(ResolveTarget("http://other:9000", nullptr, saved)->token, "");
}

TEST(cli_target, EnvironmentTokenWinsEverywhere) {
  const SavedLogin saved{"http://saved:9000", "e", "tok", ""};
  auto t = ResolveTarget("http://other:1", "envtok", saved);
  EXPECT_EQ(t->token, "envtok");
  EXPECT_TRUE(t->token_from_env);
  EXPECT_EQ(ResolveTarget("", "", saved)->token, "tok");  // set but empty: ignored
}

}  // namespace
}  // namespace lattice::cli
