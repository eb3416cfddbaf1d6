// The NotificationStore contract (store/notification_store.h) on both engines: channels by
// owner, the delivery log, claiming due deliveries (leased), attempts, deleting a channel with
// its log, and pruning by age and count.
#include <gtest/gtest.h>

#include "store/store_test_fixture.h"

namespace lattice::store {
namespace {

class NotificationStoreTest : public StoreTest {
 protected:
  NotificationStore& n() { return store_->Notifications(); }

  NotificationChannel Channel(const std::string& id, const std::string& owner,
                              std::int64_t at = 100) {
    NotificationChannel c;
    c.id = id;
    c.owner_id = owner;
    c.kind = ChannelKind::kWebhook;
    c.target = "http://127.0.0.1:9/hook";
    c.secret_enc = "sealed";
    c.events = {"workload.failed", "backup.failed"};
    c.created_at = at;
    return c;
  }
  static Delivery Pending(const std::string& id, const std::string& channel, std::int64_t at) {
    Delivery d;
    d.id = id;
    d.channel_id = channel;
    d.owner_id = "usr_a";
    d.kind = "workload.failed";
    d.workload_id = "wl_1";
    d.payload = R"({"kind":"workload.failed"})";
    d.next_attempt_at = at;
    d.created_at = d.updated_at = at;
    return d;
  }
};

TEST_P(NotificationStoreTest, ChannelsAreKeptPerOwner) {
  ASSERT_TRUE(n().CreateChannel(Channel("nch_1", "usr_a", 100)).ok());
  ASSERT_TRUE(n().CreateChannel(Channel("nch_2", "usr_b", 101)).ok());
  NotificationChannel mail = Channel("nch_3", "usr_a", 102);
  mail.kind = ChannelKind::kEmail;
  mail.target = "ops@example.com";
  mail.secret_enc = "";
  mail.events = {"node.down"};
  ASSERT_TRUE(n().CreateChannel(mail).ok());
  EXPECT_EQ(n().CreateChannel(Channel("nch_1", "usr_a")).error().code, ErrorCode::kConflict);

  auto mine = n().ListChannels("usr_a");
  ASSERT_TRUE(mine.ok()) << mine.error().message;
  ASSERT_EQ(mine->size(), 2u);
  EXPECT_EQ((*mine)[0].id, "nch_1");
  EXPECT_EQ((*mine)[0].events, (std::vector<std::string>{"workload.failed", "backup.failed"}));
  EXPECT_EQ((*mine)[0].secret_enc, "sealed");
  EXPECT_EQ((*mine)[1].kind, ChannelKind::kEmail);
  EXPECT_EQ((*mine)[1].target, "ops@example.com");
  EXPECT_EQ(n().ListChannels("")->size(), 3u);

  auto got = n().GetChannel("nch_2");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->owner_id, "usr_b");
  EXPECT_EQ(got->created_at, 101);
  EXPECT_EQ(n().GetChannel("nch_x").error().code, ErrorCode::kNotFound);
}

TEST_P(NotificationStoreTest, DueDeliveriesAreClaimedOnceUntilTheirLeaseEnds) {
  ASSERT_TRUE(n().CreateChannel(Channel("nch_1", "usr_a")).ok());
  ASSERT_TRUE(n().AddDeliveries({Pending("dlv_1", "nch_1", 100), Pending("dlv_2", "nch_1", 101),
                                 Pending("dlv_3", "nch_1", 500)})
                  .ok());
  auto due = n().ClaimDueDeliveries(200, 260, 10);
  ASSERT_TRUE(due.ok()) << due.error().message;
  ASSERT_EQ(due->size(), 2u);
  EXPECT_EQ((*due)[0].id, "dlv_1");
  EXPECT_EQ((*due)[1].id, "dlv_2");
  EXPECT_EQ((*due)[0].next_attempt_at, 260);
  EXPECT_EQ((*due)[0].payload, R"({"kind":"workload.failed"})");
  EXPECT_TRUE(n().ClaimDueDeliveries(200, 260, 10)->empty()) << "leased";
  EXPECT_EQ(n().ClaimDueDeliveries(260, 320, 1)->size(), 1u) << "the limit holds";

  // A failed attempt to be retried, then a delivered one.
  ASSERT_TRUE(
      n().RecordAttempt("dlv_1", {1, DeliveryStatus::kPending, 503, "HTTP 503", 300, 262}).ok());
  auto d = n().GetDelivery("dlv_1");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->attempts, 1);
  EXPECT_EQ(d->status, DeliveryStatus::kPending);
  EXPECT_EQ(d->last_code, 503);
  EXPECT_EQ(d->last_result, "HTTP 503");
  EXPECT_EQ(d->updated_at, 262);
  ASSERT_TRUE(
      n().RecordAttempt("dlv_1", {2, DeliveryStatus::kDelivered, 200, "HTTP 200", 0, 301}).ok());
  EXPECT_EQ(n().GetDelivery("dlv_1")->status, DeliveryStatus::kDelivered);
  EXPECT_EQ(n().RecordAttempt("dlv_x", {}).error().code, ErrorCode::kNotFound);

  auto log = n().ListDeliveries("nch_1", 10);
  ASSERT_TRUE(log.ok());
  ASSERT_EQ(log->size(), 3u);
  EXPECT_EQ((*log)[0].id, "dlv_3") << "newest first";
  EXPECT_EQ(n().ListDeliveries("nch_1", 2)->size(), 2u);
}

TEST_P(NotificationStoreTest, DeletingAChannelDeletesItsLogAndDropsLateDeliveries) {
  ASSERT_TRUE(n().CreateChannel(Channel("nch_1", "usr_a")).ok());
  ASSERT_TRUE(n().CreateChannel(Channel("nch_2", "usr_a")).ok());
  ASSERT_TRUE(
      n().AddDeliveries({Pending("dlv_1", "nch_1", 100), Pending("dlv_2", "nch_2", 100)}).ok());
  ASSERT_TRUE(n().DeleteChannel("nch_1").ok());
  EXPECT_EQ(n().DeleteChannel("nch_1").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(n().GetDelivery("dlv_1").error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(n().GetDelivery("dlv_2").ok());
  ASSERT_TRUE(n().AddDeliveries({Pending("dlv_3", "nch_1", 100)}).ok());
  EXPECT_EQ(n().GetDelivery("dlv_3").error().code, ErrorCode::kNotFound);
}

TEST_P(NotificationStoreTest, PruningKeepsPendingAndTheNewestPerChannel) {
  ASSERT_TRUE(n().CreateChannel(Channel("nch_1", "usr_a")).ok());
  std::vector<Delivery> ds;
  for (int i = 0; i < 5; ++i) ds.push_back(Pending("dlv_" + std::to_string(i), "nch_1", 100 + i));
  ds.push_back(Pending("dlv_old_pending", "nch_1", 10));
  ASSERT_TRUE(n().AddDeliveries(ds).ok());
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(n().RecordAttempt("dlv_" + std::to_string(i),
                                  {1, DeliveryStatus::kDelivered, 200, "HTTP 200", 0, 100 + i})
                    .ok());
  }
  // Older than 102, and beyond the newest 3: dlv_0 and dlv_1. The old pending one stays.
  auto pruned = n().PruneDeliveries(102, 3);
  ASSERT_TRUE(pruned.ok()) << pruned.error().message;
  EXPECT_EQ(*pruned, 2);
  auto left = n().ListDeliveries("nch_1", 10);
  ASSERT_EQ(left->size(), 4u);
  EXPECT_TRUE(n().GetDelivery("dlv_old_pending").ok());
  EXPECT_EQ(*n().PruneDeliveries(0, 1), 2) << "dlv_3 and dlv_2 go; dlv_4 is the newest";
}

INSTANTIATE_TEST_SUITE_P(Engines, NotificationStoreTest,
                         ::testing::Values(SqliteImpl(), PostgresImpl()),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace lattice::store
