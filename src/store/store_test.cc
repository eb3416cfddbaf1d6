// The Store contract, parameterised over the engines: SQLite and PostgreSQL must pass exactly
// the same suite. PostgreSQL runs in a throwaway cluster (one per test binary, a fresh
// database per test); without PostgreSQL installed its half is skipped, except under the
// project's test command (LATTICE_REQUIRE_DOCKER), where it fails.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <thread>

#include "common/random.h"
#include "common/test_env.h"
#include "store/migrations.h"
#include "store/postgres/pg_store.h"
#include "store/postgres/pg_test_cluster.h"
#include "store/sqlite/sqlite_store.h"
#include "store/store.h"
#include "store/store_test_fixture.h"

namespace lattice::store {
namespace {

namespace fs = std::filesystem;
using postgres::TestCluster;

TEST_P(StoreTest, PingSucceeds) {
  EXPECT_TRUE(store_->Ping().ok());
}

TEST_P(StoreTest, FirstUserIsAdminLaterAreUsers) {
  auto a = store_->CreateUser(NewUser("a@x.io"), {});
  auto b = store_->CreateUser(NewUser("b@x.io"), {});
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(a->role, "admin");
  EXPECT_EQ(b->role, "user");
  auto got = store_->GetUserById(b->id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->email, "b@x.io");
  EXPECT_EQ(got->role, "user");
}

TEST_P(StoreTest, ConcurrentFirstSignUpsYieldExactlyOneAdmin) {
  std::vector<std::thread> threads;
  std::atomic<int> admins{0}, created{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      auto u = store_->CreateUser(NewUser("u" + std::to_string(i) + "@x.io"), {});
      if (u.ok()) {
        ++created;
        if (u->role == "admin") ++admins;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(created.load(), 8);
  EXPECT_EQ(admins.load(), 1);
}

TEST_P(StoreTest, DuplicateEmailIsConflict) {
  ASSERT_TRUE(store_->CreateUser(NewUser("a@x.io"), {}).ok());
  auto dup = store_->CreateUser(NewUser("a@x.io"), {});
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code, ErrorCode::kConflict);
}

TEST_P(StoreTest, MissingUserIsNotFound) {
  auto u = store_->GetUserByEmail("nobody@x.io");
  ASSERT_FALSE(u.ok());
  EXPECT_EQ(u.error().code, ErrorCode::kNotFound);
}

TEST_P(StoreTest, SessionLifecycle) {
  auto u = store_->CreateUser(NewUser("a@x.io"), {});
  ASSERT_TRUE(u.ok());
  Session s{"ses_1", u->id, "abc", 100, 200, std::nullopt, "127.0.0.1"};
  ASSERT_TRUE(store_->CreateSession(s).ok());
  auto got = store_->GetSession("ses_1");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->user.email, "a@x.io");
  EXPECT_EQ(got->session.expires_at, 200);
  EXPECT_FALSE(got->session.revoked_at.has_value());

  ASSERT_TRUE(store_->RevokeSession("ses_1", 150).ok());
  ASSERT_TRUE(store_->RevokeSession("ses_1", 160).ok());  // idempotent, keeps the first time
  got = store_->GetSession("ses_1");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->session.revoked_at, 150);
  EXPECT_EQ(store_->RevokeSession("nope", 1).error().code, ErrorCode::kNotFound);
}

TEST_P(StoreTest, PasswordChangeRevokesAllSessions) {
  auto u = store_->CreateUser(NewUser("a@x.io"), {});
  ASSERT_TRUE(u.ok());
  ASSERT_TRUE(store_->CreateSession({"s1", u->id, "h", 1, 1000, std::nullopt, ""}).ok());
  ASSERT_TRUE(store_->CreateSession({"s2", u->id, "h", 1, 1000, std::nullopt, ""}).ok());
  ASSERT_TRUE(store_->UpdatePassword(u->id, "newhash", 50).ok());
  EXPECT_EQ(store_->GetSession("s1")->session.revoked_at, 50);
  EXPECT_EQ(store_->GetSession("s2")->session.revoked_at, 50);
  EXPECT_EQ(store_->GetUserById(u->id)->password_hash, "newhash");
  EXPECT_EQ(store_->UpdatePassword("usr_missing", "x", 1).error().code, ErrorCode::kNotFound);
}

TEST_P(StoreTest, ExpiredSessionsAreSwept) {
  auto u = store_->CreateUser(NewUser("a@x.io"), {});
  ASSERT_TRUE(u.ok());
  ASSERT_TRUE(store_->CreateSession({"old", u->id, "h", 1, 10, std::nullopt, ""}).ok());
  ASSERT_TRUE(store_->CreateSession({"new", u->id, "h", 1, 1000, std::nullopt, ""}).ok());
  auto n = store_->DeleteExpiredSessions(500);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1);
  EXPECT_FALSE(store_->GetSession("old").ok());
  EXPECT_TRUE(store_->GetSession("new").ok());
}

TEST_P(StoreTest, DataSurvivesReopen) {
  auto u = store_->CreateUser(NewUser("keep@x.io"), {});
  ASSERT_TRUE(u.ok());
  Reopen();
  auto got = store_->GetUserByEmail("keep@x.io");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->id, u->id);
}

TEST_P(StoreTest, JoinTokensAreSingleUseAndExpire) {
  auto admin = store_->CreateUser(NewUser("a@x.io"), {});
  ASSERT_TRUE(admin.ok());
  ASSERT_TRUE(
      store_->CreateJoinToken({"jt_1", "hash1", admin->id, 100, 200, std::nullopt, ""}).ok());
  Node n;
  n.id = "node_1";
  n.name = "n1";
  n.status = NodeStatus::kReady;
  n.secret_hash = "s";
  EXPECT_EQ(store_->JoinNode("hash1", n, 300).error().code,
            ErrorCode::kUnauthenticated);        // expired
  EXPECT_FALSE(store_->GetNode("node_1").ok());  // nothing half-written
  ASSERT_TRUE(store_->JoinNode("hash1", n, 150).ok());
  n.id = "node_2";
  EXPECT_EQ(store_->JoinNode("hash1", n, 151).error().code, ErrorCode::kUnauthenticated);  // reused
  EXPECT_EQ(store_->JoinNode("forged", n, 151).error().code, ErrorCode::kUnauthenticated);
  auto nodes = store_->ListNodes();
  ASSERT_TRUE(nodes.ok());
  ASSERT_EQ(nodes->size(), 1u);
  EXPECT_EQ((*nodes)[0].name, "n1");
  auto some = store_->GetNodes({"node_1", "node_9", "x' OR '1'='1"});
  ASSERT_TRUE(some.ok());
  ASSERT_EQ(some->size(), 1u);  // unknown ids (and quotes) are not rows
  EXPECT_EQ((*some)[0].id, "node_1");
  EXPECT_EQ((*some)[0].name, "n1");
  EXPECT_TRUE(store_->GetNodes({})->empty());
  ASSERT_TRUE(store_->SetNodeStatus("node_1", NodeStatus::kDown, 500).ok());
  ASSERT_TRUE(
      store_->SetNodeStatus("node_1", NodeStatus::kDown, 400).ok());  // heartbeat never goes back
  EXPECT_EQ(store_->GetNode("node_1")->last_heartbeat, 500);
  EXPECT_EQ(store_->GetNode("node_1")->status, NodeStatus::kDown);
}

TEST_P(StoreTest, WorkloadLifecycle) {
  auto u = store_->CreateUser(NewUser("a@x.io"), {});
  ASSERT_TRUE(u.ok());
  Workload w;
  w.id = "wl_1";
  w.owner_id = u->id;
  w.name = "db";
  w.template_name = "postgres";
  w.image = "lattice/postgres:15";
  w.spec_enc = std::string("\x00\x01binary", 8);
  w.credentials_enc = "c";
  w.created_at = w.updated_at = 10;
  ASSERT_TRUE(store_->CreateWorkload(w, {}).ok());
  Workload dup = w;
  dup.id = "wl_2";
  auto conflict = store_->CreateWorkload(dup, {});
  ASSERT_FALSE(conflict.ok());
  EXPECT_EQ(conflict.error().code, ErrorCode::kConflict) << conflict.error().message;

  auto got = store_->GetWorkload("wl_1");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->spec_enc, w.spec_enc);
  EXPECT_EQ(got->generation, 1);

  ASSERT_TRUE(store_->SetPlacement("wl_1", "node_1", WorkloadStatus::kScheduled, "", 11).ok());
  ASSERT_TRUE(store_
                  ->SetObservedStatus("wl_1", 1, WorkloadStatus::kRunning, "",
                                      "[{\"container_port\":5432}]", 12)
                  .ok());
  EXPECT_EQ(store_->GetWorkload("wl_1")->status, WorkloadStatus::kRunning);

  auto stopped =
      store_->SetDesiredState("wl_1", DesiredState::kStopped, WorkloadStatus::kScheduled, 13);
  ASSERT_TRUE(stopped.ok());
  EXPECT_EQ(stopped->generation, 2);
  // A late report about generation 1 must not undo the newer intent.
  ASSERT_TRUE(store_->SetObservedStatus("wl_1", 1, WorkloadStatus::kRunning, "", "[]", 14).ok());
  EXPECT_EQ(store_->GetWorkload("wl_1")->status, WorkloadStatus::kScheduled);
  ASSERT_TRUE(store_->SetObservedStatus("wl_1", 2, WorkloadStatus::kStopped, "", "[]", 15).ok());
  EXPECT_EQ(store_->GetWorkload("wl_1")->status, WorkloadStatus::kStopped);

  WorkloadFilter by_node;
  by_node.node_id = "node_1";
  EXPECT_EQ(store_->ListWorkloads(by_node)->size(), 1u);
  WorkloadFilter other;
  other.owner_id = "usr_other";
  EXPECT_EQ(store_->ListWorkloads(other)->size(), 0u);

  // A storage-format migration replaces the sealed spec and nothing else.
  const std::int64_t updated_at = store_->GetWorkload("wl_1")->updated_at;
  const std::string respec("\x00\x02format-1", 10);
  ASSERT_TRUE(store_->UpdateWorkloadSpec("wl_1", respec).ok());
  EXPECT_EQ(store_->GetWorkload("wl_1")->spec_enc, respec);
  EXPECT_EQ(store_->GetWorkload("wl_1")->updated_at, updated_at);
  EXPECT_EQ(store_->GetWorkload("wl_1")->status, WorkloadStatus::kStopped);
  EXPECT_EQ(store_->UpdateWorkloadSpec("wl_nope", respec).error().code, ErrorCode::kNotFound);

  ASSERT_TRUE(store_->AppendEvent({0, "wl_1", 1, WorkloadStatus::kPending, "created"}).ok());
  ASSERT_TRUE(store_->AppendEvent({0, "wl_1", 2, WorkloadStatus::kRunning, ""}).ok());
  ASSERT_TRUE(store_->AppendEvent({0, "wl_1", 3, WorkloadStatus::kStopped, ""}).ok());
  auto ev = store_->ListEvents("wl_1", 2);
  ASSERT_TRUE(ev.ok());
  ASSERT_EQ(ev->size(), 2u);
  EXPECT_EQ((*ev)[0].status, WorkloadStatus::kRunning);  // the two most recent, oldest first
  EXPECT_EQ((*ev)[1].status, WorkloadStatus::kStopped);

  ASSERT_TRUE(store_->DeleteWorkload("wl_1").ok());
  EXPECT_EQ(store_->GetWorkload("wl_1").error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(store_->ListEvents("wl_1", 10)->empty());
  EXPECT_TRUE(store_->CreateWorkload(dup, {}).ok());  // the name is free again
}

TEST_P(StoreTest, HasUsers) {
  EXPECT_FALSE(*store_->HasUsers());
  ASSERT_TRUE(store_->CreateUser(NewUser("a@x.io"), {}).ok());
  EXPECT_TRUE(*store_->HasUsers());
}

Admission Policy(Registration p, std::string invite_hash = "", std::int64_t now = 150) {
  return Admission{p, std::move(invite_hash), now};
}

TEST_P(StoreTest, TheFirstAccountIsAlwaysAdmittedAsAdmin) {
  auto first = store_->CreateUser(NewUser("root@x.io"), Policy(Registration::kClosed));
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->role, "admin");
  auto second = store_->CreateUser(NewUser("b@x.io"), Policy(Registration::kClosed));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(second.error().type, "registration-closed");
  EXPECT_FALSE(store_->GetUserByEmail("b@x.io").ok());
  auto open = store_->CreateUser(NewUser("c@x.io"), Policy(Registration::kOpen));
  ASSERT_TRUE(open.ok());
  EXPECT_EQ(open->role, "user");
}

TEST_P(StoreTest, InvitesAdmitOneAccountEachBeforeTheyExpire) {
  auto admin = store_->CreateUser(NewUser("root@x.io"), Policy(Registration::kInvite));
  ASSERT_TRUE(admin.ok());
  ASSERT_TRUE(
      store_
          ->CreateInvite({"inv_1", "h1", "for bob", admin->id, 100, 200, std::nullopt, "", "", ""})
          .ok());
  ASSERT_TRUE(
      store_->CreateInvite({"inv_2", "h2", "", admin->id, 101, 200, std::nullopt, "", "", ""})
          .ok());

  auto none = store_->CreateUser(NewUser("b@x.io"), Policy(Registration::kInvite));
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().type, "invite-required");
  auto forged = store_->CreateUser(NewUser("b@x.io"), Policy(Registration::kInvite, "nope"));
  ASSERT_FALSE(forged.ok());
  EXPECT_EQ(forged.error().type, "invite-invalid");
  auto expired = store_->CreateUser(NewUser("b@x.io"), Policy(Registration::kInvite, "h1", 200));
  ASSERT_FALSE(expired.ok());
  EXPECT_EQ(expired.error().type, "invite-invalid");
  // A sign-up that fails for another reason leaves the invite unused.
  auto taken = store_->CreateUser(NewUser("root@x.io"), Policy(Registration::kInvite, "h1"));
  ASSERT_FALSE(taken.ok());
  EXPECT_EQ(taken.error().code, ErrorCode::kConflict);

  auto bob = store_->CreateUser(NewUser("bob@x.io"), Policy(Registration::kInvite, "h1"));
  ASSERT_TRUE(bob.ok());
  EXPECT_EQ(bob->role, "user");
  auto reused = store_->CreateUser(NewUser("eve@x.io"), Policy(Registration::kInvite, "h1"));
  ASSERT_FALSE(reused.ok());
  EXPECT_EQ(reused.error().type, "invite-invalid");
  // kClosed ignores invites.
  auto closed = store_->CreateUser(NewUser("eve@x.io"), Policy(Registration::kClosed, "h2"));
  ASSERT_FALSE(closed.ok());
  EXPECT_EQ(closed.error().type, "registration-closed");

  auto list = store_->ListInvites();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].id, "inv_2");  // newest first
  EXPECT_FALSE((*list)[0].used_at.has_value());
  const Invite& used = (*list)[1];
  EXPECT_EQ(used.note, "for bob");
  EXPECT_EQ(used.used_at, 150);
  EXPECT_EQ(used.used_by, bob->id);
  EXPECT_EQ(used.used_by_email, "bob@x.io");
  EXPECT_EQ(used.created_by_email, "root@x.io");

  ASSERT_TRUE(store_->DeleteInvite("inv_2").ok());
  EXPECT_EQ(store_->DeleteInvite("inv_2").error().code, ErrorCode::kNotFound);
  auto deleted = store_->CreateUser(NewUser("eve@x.io"), Policy(Registration::kInvite, "h2"));
  ASSERT_FALSE(deleted.ok());
  EXPECT_EQ(deleted.error().type, "invite-invalid");
  EXPECT_EQ(store_->ListInvites()->size(), 1u);
}

TEST_P(StoreTest, ConcurrentSignUpsWithOneInviteAdmitExactlyOne) {
  auto admin = store_->CreateUser(NewUser("root@x.io"), {});
  ASSERT_TRUE(admin.ok());
  ASSERT_TRUE(
      store_->CreateInvite({"inv_1", "h", "", admin->id, 100, 200, std::nullopt, "", "", ""}).ok());
  std::vector<std::thread> threads;
  std::atomic<int> created{0}, refused{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      auto u = store_->CreateUser(NewUser("u" + std::to_string(i) + "@x.io"),
                                  Policy(Registration::kInvite, "h"));
      if (u.ok())
        ++created;
      else if (u.error().type == "invite-invalid")
        ++refused;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(created.load(), 1);
  EXPECT_EQ(refused.load(), 7);
}

TEST_P(StoreTest, AuditTrailPagesNewestFirst) {
  EXPECT_TRUE(store_->ListAudit(0, 10)->empty());
  for (int i = 1; i <= 5; ++i) {
    AuditEvent e{
        0,  100 + i,    i % 2 ? "usr_1" : "",           i % 2 ? "a@x.io" : "",     "auth.login",
        "", "10.0.0.1", i == 3 ? "failure" : "success", "try " + std::to_string(i)};
    ASSERT_TRUE(store_->AppendAudit(e).ok());
  }
  auto page = store_->ListAudit(0, 2);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].detail, "try 5");
  EXPECT_EQ((*page)[1].detail, "try 4");
  EXPECT_GT((*page)[0].id, (*page)[1].id);
  auto next = store_->ListAudit((*page)[1].id, 10);
  ASSERT_TRUE(next.ok());
  ASSERT_EQ(next->size(), 3u);
  const AuditEvent& third = (*next)[0];
  EXPECT_EQ(third.detail, "try 3");
  EXPECT_EQ(third.at, 103);
  EXPECT_EQ(third.actor_id, "usr_1");
  EXPECT_EQ(third.actor_email, "a@x.io");
  EXPECT_EQ(third.action, "auth.login");
  EXPECT_EQ(third.client_address, "10.0.0.1");
  EXPECT_EQ(third.outcome, "failure");
  EXPECT_EQ((*next)[2].detail, "try 1");
  EXPECT_TRUE(store_->ListAudit((*next)[2].id, 10)->empty());
}

Workload Sized(const std::string& owner, const std::string& name, std::int64_t memory_mb,
               double cpus) {
  Workload w;
  w.id = NewId("wl");
  w.owner_id = owner;
  w.name = name;
  w.template_name = "custom";
  w.image = "img";
  w.memory_mb = memory_mb;
  w.cpus = cpus;
  return w;
}

TEST_P(StoreTest, QuotasCountWorkloadsThatAreNotDeleted) {
  auto a = store_->CreateUser(NewUser("a@x.io"), {});
  auto b = store_->CreateUser(NewUser("b@x.io"), {});
  ASSERT_TRUE(a.ok() && b.ok());
  const Quota q{2, 1024, 2, 256, 1};
  ASSERT_TRUE(store_->CreateWorkload(Sized(a->id, "one", 512, 0.5), q).ok());
  Status mem = store_->CreateWorkload(Sized(a->id, "big", 768, 0.5), q);
  ASSERT_FALSE(mem.ok());
  EXPECT_EQ(mem.error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(mem.error().type, "quota-exceeded");
  const Workload two = Sized(a->id, "two", 0, 0);  // counts 256 MB and 1 CPU
  ASSERT_TRUE(store_->CreateWorkload(two, q).ok());
  Status count = store_->CreateWorkload(Sized(a->id, "three", 16, 0.1), q);
  ASSERT_FALSE(count.ok());
  EXPECT_EQ(count.error().type, "quota-exceeded");
  // Quotas are per user.
  EXPECT_TRUE(store_->CreateWorkload(Sized(b->id, "three", 16, 0.1), q).ok());
  // A stopped workload still counts; a deleted one does not.
  ASSERT_TRUE(
      store_->SetDesiredState(two.id, DesiredState::kStopped, WorkloadStatus::kStopped, 1).ok());
  EXPECT_FALSE(store_->CreateWorkload(Sized(a->id, "three", 16, 0.1), q).ok());
  ASSERT_TRUE(
      store_->SetDesiredState(two.id, DesiredState::kDeleted, WorkloadStatus::kDeleting, 2).ok());
  EXPECT_TRUE(store_->CreateWorkload(Sized(a->id, "three", 16, 0.1), q).ok());
  // Nothing half-written by the refusals.
  WorkloadFilter mine;
  mine.owner_id = a->id;
  EXPECT_EQ(store_->ListWorkloads(mine)->size(), 3u);
}

TEST_P(StoreTest, ConcurrentCreatesCannotBothTakeTheLastSlot) {
  auto a = store_->CreateUser(NewUser("a@x.io"), {});
  ASSERT_TRUE(a.ok());
  const Quota q{3, 0, 0, 256, 1};
  std::vector<std::thread> threads;
  std::atomic<int> created{0}, refused{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      Status s = store_->CreateWorkload(Sized(a->id, "w" + std::to_string(i), 64, 0.1), q);
      if (s.ok())
        ++created;
      else if (s.error().type == "quota-exceeded")
        ++refused;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(created.load(), 3);
  EXPECT_EQ(refused.load(), 5);
}

TEST_P(StoreTest, ListFiltersCombineAndAllocationsSumPerNode) {
  auto a = store_->CreateUser(NewUser("a@x.io"), {});
  auto b = store_->CreateUser(NewUser("b@x.io"), {});
  ASSERT_TRUE(a.ok() && b.ok());
  const Workload a1 = Sized(a->id, "a1", 512, 0.5), a2 = Sized(a->id, "a2", 0, 0),
                 a3 = Sized(a->id, "a3", 100, 0.1), b1 = Sized(b->id, "b1", 300, 0.1);
  for (const auto* w : {&a1, &a2, &a3, &b1}) ASSERT_TRUE(store_->CreateWorkload(*w, {}).ok());
  ASSERT_TRUE(store_->SetPlacement(a1.id, "node_1", WorkloadStatus::kScheduled, "", 2).ok());
  ASSERT_TRUE(store_->SetPlacement(a2.id, "node_1", WorkloadStatus::kScheduled, "", 2).ok());
  ASSERT_TRUE(store_->SetPlacement(b1.id, "node_2", WorkloadStatus::kRunning, "", 2).ok());
  ASSERT_TRUE(store_->SetPlacement(a3.id, "node_2", WorkloadStatus::kScheduled, "", 2).ok());
  ASSERT_TRUE(
      store_->SetDesiredState(a3.id, DesiredState::kDeleted, WorkloadStatus::kDeleting, 3).ok());

  auto count = [&](std::optional<std::string> owner, std::optional<std::string> node,
                   std::optional<WorkloadStatus> status) {
    WorkloadFilter f;
    f.owner_id = std::move(owner);
    f.node_id = std::move(node);
    f.status = std::move(status);
    auto list = store_->ListWorkloads(f);
    EXPECT_TRUE(list.ok());
    return list.ok() ? list->size() : 999u;
  };
  EXPECT_EQ(count({}, {}, {}), 4u);
  EXPECT_EQ(count(a->id, {}, {}), 3u);
  EXPECT_EQ(count({}, "node_1", {}), 2u);
  EXPECT_EQ(count({}, {}, WorkloadStatus::kScheduled), 2u);
  EXPECT_EQ(count(a->id, "node_2", {}), 1u);
  EXPECT_EQ(count(a->id, {}, WorkloadStatus::kScheduled), 2u);
  EXPECT_EQ(count({}, "node_2", WorkloadStatus::kRunning), 1u);
  EXPECT_EQ(count(b->id, "node_1", WorkloadStatus::kScheduled), 0u);
  EXPECT_EQ(count(a->id, "node_1", WorkloadStatus::kScheduled), 2u);

  // Deleted workloads free their memory; 0 MB counts as the default request.
  auto alloc = store_->AllocatedMemoryByNode(256);
  ASSERT_TRUE(alloc.ok()) << alloc.error().message;
  EXPECT_EQ(*alloc, (std::map<std::string, std::int64_t>{{"node_1", 768}, {"node_2", 300}}));
}

TEST_P(StoreTest, PublicPortsAreStableUniqueAndReleasedOnDelete) {
  auto u = store_->CreateUser(NewUser("p@x.io"), {});
  ASSERT_TRUE(u.ok());
  for (const char* id : {"wl_a", "wl_b", "wl_c"}) {
    Workload w;
    w.id = id;
    w.owner_id = u->id;
    w.name = id;
    w.template_name = "custom";
    w.image = "img";
    w.spec_enc = "s";
    w.credentials_enc = "c";
    ASSERT_TRUE(store_->CreateWorkload(w, {}).ok());
  }
  const auto any = [](int) { return true; };
  auto a = store_->AllocatePublicPorts("wl_a", {5432, 8080}, 100, 103, any);
  ASSERT_TRUE(a.ok()) << a.error().message;
  ASSERT_EQ(a->size(), 2u);
  EXPECT_EQ((*a)[0].port, 100);
  EXPECT_EQ((*a)[1].port, 101);
  // Idempotent: asking again keeps the same ports.
  auto again = store_->AllocatePublicPorts("wl_a", {5432, 8080}, 100, 103, any);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)[0].port, 100);
  EXPECT_EQ((*again)[1].port, 101);
  // Ports the caller cannot use (already bound by someone else) are skipped.
  auto b = store_->AllocatePublicPorts("wl_b", {80}, 100, 103, [](int p) { return p != 102; });
  ASSERT_TRUE(b.ok());
  EXPECT_EQ((*b)[0].port, 103);
  // The range is exhausted: an error, and nothing half-allocated.
  auto c = store_->AllocatePublicPorts("wl_c", {1, 2}, 100, 103, any);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, ErrorCode::kUnavailable);
  auto all = store_->ListPublicPorts();
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 3u);
  // Deleting a workload releases its ports.
  ASSERT_TRUE(store_->DeleteWorkload("wl_a").ok());
  EXPECT_EQ(store_->ListPublicPorts()->size(), 1u);
  auto c2 = store_->AllocatePublicPorts("wl_c", {1, 2}, 100, 103, any);
  ASSERT_TRUE(c2.ok());
  EXPECT_EQ((*c2)[0].port, 100);
}

TEST_P(StoreTest, PublicPortsOfOneWorkload) {
  auto u = store_->CreateUser(NewUser("q@x.io"), {});
  ASSERT_TRUE(u.ok());
  for (const char* id : {"wl_a", "wl_b"}) {
    Workload w;
    w.id = id;
    w.owner_id = u->id;
    w.name = id;
    w.template_name = "custom";
    w.image = "img";
    w.spec_enc = "s";
    w.credentials_enc = "c";
    ASSERT_TRUE(store_->CreateWorkload(w, {}).ok());
  }
  const auto any = [](int) { return true; };
  ASSERT_TRUE(store_->AllocatePublicPorts("wl_a", {5432}, 100, 110, any).ok());
  ASSERT_TRUE(store_->AllocatePublicPorts("wl_b", {80, 443}, 100, 110, any).ok());
  auto b = store_->ListPublicPortsOf("wl_b");
  ASSERT_TRUE(b.ok());
  ASSERT_EQ(b->size(), 2u);
  EXPECT_EQ((*b)[0].port, 101);
  EXPECT_EQ((*b)[0].container_port, 80);
  EXPECT_EQ((*b)[1].port, 102);
  EXPECT_TRUE(store_->ListPublicPortsOf("wl_none")->empty());
}

// Replicas: a node's link belongs to one replica; a replica that stops refreshing its row
// releases its nodes (down since it was last seen), and only its own.
TEST_P(StoreTest, NodeLinksFollowTheirReplica) {
  auto admin = store_->CreateUser(NewUser("r@x.io"), {});
  ASSERT_TRUE(admin.ok());
  for (const char* id : {"node_a", "node_b", "node_c"}) {
    const std::string hash = std::string("h_") + id;
    ASSERT_TRUE(
        store_
            ->CreateJoinToken({std::string("jt_") + id, hash, admin->id, 0, 1000, std::nullopt, ""})
            .ok());
    Node n;
    n.id = id;
    n.name = id;
    n.secret_hash = "s";
    ASSERT_TRUE(store_->JoinNode(hash, n, 10).ok());
  }
  ASSERT_TRUE(store_->TouchReplica({"rep_1", "https://a:1", 100}).ok());
  ASSERT_TRUE(store_->TouchReplica({"rep_2", "https://b:1", 100}).ok());
  ASSERT_TRUE(store_->ClaimNodeLink("node_a", "rep_1", 100).ok());
  ASSERT_TRUE(store_->ClaimNodeLink("node_b", "rep_2", 100).ok());
  ASSERT_TRUE(store_->ClaimNodeLink("node_c", "rep_1", 100).ok());
  EXPECT_EQ(store_->ClaimNodeLink("node_x", "rep_1", 100).error().code, ErrorCode::kNotFound);
  auto a = store_->GetNode("node_a");
  EXPECT_EQ(a->status, NodeStatus::kReady);
  EXPECT_EQ(a->link_replica, "rep_1");
  EXPECT_EQ(a->last_heartbeat, 100);

  // node_c's agent moves to rep_2 before rep_1 notices its old link is gone: rep_1's release
  // must not mark it down.
  ASSERT_TRUE(store_->ClaimNodeLink("node_c", "rep_2", 105).ok());
  auto stale = store_->ReleaseNodeLink("node_c", "rep_1", 106);
  ASSERT_TRUE(stale.ok());
  EXPECT_FALSE(*stale);
  EXPECT_EQ(store_->GetNode("node_c")->status, NodeStatus::kReady);

  // rep_1 is refreshed at 110, rep_2 at 130; at 140 with a 20 s timeout rep_1 is gone.
  ASSERT_TRUE(store_->TouchReplica({"rep_1", "https://a:1", 110}).ok());
  ASSERT_TRUE(store_->TouchReplica({"rep_2", "https://b:1", 130}).ok());
  auto live = store_->ListReplicas(120);
  ASSERT_TRUE(live.ok()) << live.error().message;
  ASSERT_EQ(live->size(), 1u);
  EXPECT_EQ((*live)[0].id, "rep_2");
  EXPECT_EQ((*live)[0].url, "https://b:1");
  EXPECT_EQ((*live)[0].seen_at, 130);
  EXPECT_EQ(store_->ListReplicas(0)->size(), 2u);
  auto reaped = store_->ReapReplicas(120, 140);
  ASSERT_TRUE(reaped.ok()) << reaped.error().message;
  ASSERT_EQ(reaped->size(), 1u);
  EXPECT_EQ((*reaped)[0], "node_a");
  a = store_->GetNode("node_a");
  EXPECT_EQ(a->status, NodeStatus::kDown);
  EXPECT_EQ(a->link_replica, "");
  EXPECT_EQ(a->down_since, 110);  // when its replica was last seen
  EXPECT_EQ(store_->GetNode("node_b")->status, NodeStatus::kReady);
  EXPECT_EQ(store_->GetNode("node_c")->status, NodeStatus::kReady);
  EXPECT_TRUE(store_->ReapReplicas(120, 141)->empty());  // once only

  // A clean release.
  auto released = store_->ReleaseNodeLink("node_b", "rep_2", 150);
  ASSERT_TRUE(released.ok());
  EXPECT_TRUE(*released);
  auto b = store_->GetNode("node_b");
  EXPECT_EQ(b->status, NodeStatus::kDown);
  EXPECT_EQ(b->down_since, 150);

  // A node linked to a replica that never wrote a row is released as down since `now`.
  ASSERT_TRUE(store_->ClaimNodeLink("node_b", "rep_ghost", 160).ok());
  auto ghost = store_->ReapReplicas(120, 170);
  ASSERT_TRUE(ghost.ok());
  ASSERT_EQ(ghost->size(), 1u);
  EXPECT_EQ(store_->GetNode("node_b")->down_since, 170);
  // Data survives a reopen.
  Reopen();
  EXPECT_EQ(store_->GetNode("node_c")->link_replica, "rep_2");
}

TEST_P(StoreTest, MigrationsAreRecordedOnceAndReopeningIsANoOp) {
  Reopen();
  Reopen();
  ASSERT_TRUE(store_->CreateUser(NewUser("a@x.io"), {}).ok());
}

TEST_P(StoreTest, SchemaNewerThanTheBinaryIsRefused) {
  store_.reset();
  // A migration newer than this binary knows, as a newer release would record it.
  ASSERT_TRUE(GetParam()
                  .exec(dir_,
                        "INSERT INTO schema_migrations(version, name, applied_at) VALUES (999, "
                        "'x', 0)")
                  .ok());
  auto s = GetParam().open(dir_);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kConflict);
  EXPECT_NE(s.error().message.find("schema is at version 999"), std::string::npos)
      << s.error().message;
}

TEST_P(StoreTest, TheEngineKeepsTheAuditTrailAppendOnly) {
  ASSERT_TRUE(store_->AppendAudit({0, 1, "", "", "auth.login", "", "", "failure", ""}).ok());
  EXPECT_FALSE(GetParam().exec(dir_, "UPDATE audit_events SET outcome = 'success'").ok());
  EXPECT_FALSE(GetParam().exec(dir_, "DELETE FROM audit_events").ok());
  EXPECT_EQ(store_->ListAudit(0, 10)->at(0).outcome, "failure");
}

INSTANTIATE_TEST_SUITE_P(Engines, StoreTest, ::testing::Values(SqliteImpl(), PostgresImpl()),
                         [](const auto& info) { return info.param.name; });

TEST(Migrations, AreNumberedWithoutGapsAndHaveBothDialects) {
  int expected = 1;
  for (const Migration& m : Migrations()) {
    EXPECT_EQ(m.version, expected++);
    EXPECT_NE(std::string(m.sqlite).find_first_not_of(" \n"), std::string::npos) << m.version;
    EXPECT_NE(std::string(m.postgres).find_first_not_of(" \n"), std::string::npos) << m.version;
  }
  EXPECT_EQ(LatestSchemaVersion(), expected - 1);
}

TEST(SqliteMigrations, AreIdempotentAndRecorded) {
  InitCrypto();
  const fs::path dir = fs::temp_directory_path() / ("lattice-mig-" + RandomToken(8));
  fs::create_directories(dir);
  const std::string path = (dir / "m.db").string();
  {
    auto c = sqlite::Connection::Open(path);
    ASSERT_TRUE(c.ok());
    ASSERT_TRUE(sqlite::Migrate(**c).ok());
    ASSERT_TRUE(sqlite::Migrate(**c).ok());
    auto q = (*c)->Prepare("SELECT COUNT(*) FROM schema_migrations");
    ASSERT_TRUE(q.ok());
    ASSERT_EQ((*q)->Step(), SQLITE_ROW);
    EXPECT_EQ((*q)->Int(0), static_cast<std::int64_t>(Migrations().size()));
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace lattice::store
