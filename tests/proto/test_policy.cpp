// proto/policy.hpp: the hostile-input checks every data path applies before replicating, and the
// per-sender token buckets.
#include <gtest/gtest.h>

#include <memory>

#include "fanout/proto/policy.hpp"

namespace proto = fanout::proto;

namespace {

proto::ReceiverSet set_of(std::initializer_list<proto::NodeId> ids) {
  proto::ReceiverSet s;
  for (proto::NodeId id : ids) EXPECT_TRUE(s.append(id));
  return s;
}

TEST(SetPolicy, OpenPolicyRefusesNothing) {
  proto::SetPolicy p = proto::open_set_policy();
  EXPECT_TRUE(proto::is_open(p));
  auto s = std::make_unique<proto::ReceiverSet>(set_of({0, 5, 65535}));
  EXPECT_EQ(proto::check_set_policy(p, *s, 7, 7), proto::kPolicyOk);
  // Not even a set naming its sender or origin: an unconfigured node replicates as before.
  EXPECT_EQ(proto::check_set_policy(p, *s, 5, 7), proto::kPolicyOk);
  EXPECT_EQ(proto::check_set_policy(p, *s, 7, 65535), proto::kPolicyOk);
  // Any limit makes it a policy, and then the loop rule applies.
  p.last_id = 65534;
  EXPECT_FALSE(proto::is_open(p));
  *s = set_of({0, 5});
  EXPECT_EQ(proto::check_set_policy(p, *s, 5, 7), proto::kPolicyLoop);
}

TEST(SetPolicy, EachRuleAndItsOrder) {
  proto::SetPolicy p;
  p.max_receivers = 3;
  p.first_id = 10;
  p.last_id = 100;
  auto s = std::make_unique<proto::ReceiverSet>();
  *s = set_of({20, 30, 40});
  EXPECT_EQ(proto::check_set_policy(p, *s, 1, 2), proto::kPolicyOk);
  *s = set_of({20, 30, 40, 50});
  EXPECT_EQ(proto::check_set_policy(p, *s, 1, 2), proto::kPolicyTooManyReceivers);
  *s = set_of({9, 30});
  EXPECT_EQ(proto::check_set_policy(p, *s, 1, 2), proto::kPolicyUnknownId);
  *s = set_of({30, 101});
  EXPECT_EQ(proto::check_set_policy(p, *s, 1, 2), proto::kPolicyUnknownId);
  *s = set_of({20, 30});
  EXPECT_EQ(proto::check_set_policy(p, *s, 30, 2), proto::kPolicyLoop) << "names its sender";
  EXPECT_EQ(proto::check_set_policy(p, *s, 1, 20), proto::kPolicyLoop) << "names the node it came from";
  // The first failing check decides: too many ids that also loop are too many.
  *s = set_of({20, 30, 40, 50});
  EXPECT_EQ(proto::check_set_policy(p, *s, 20, 2), proto::kPolicyTooManyReceivers);
  p.max_receivers = 0; // no size limit
  EXPECT_EQ(proto::check_set_policy(p, *s, 1, 2), proto::kPolicyOk);
  for (int c = 0; c < proto::kPolicyCodeCount; c++) EXPECT_STRNE(proto::policy_code_name(c), "unknown");
}

TEST(RateLimiter, BurstThenRefillPerSender) {
  auto r = std::make_unique<proto::RateLimiter<1024>>();
  EXPECT_TRUE(r->allow(5, 1000000, 0)) << "no limit configured";
  r->reset();
  r->configure({10, 1000}); // 10 bytes per tick, bursts of 1,000
  EXPECT_TRUE(r->allow(5, 600, 100));
  EXPECT_TRUE(r->allow(5, 400, 100));
  EXPECT_FALSE(r->allow(5, 1, 100)) << "bucket empty";
  EXPECT_TRUE(r->allow(6, 1000, 100)) << "senders are independent";
  EXPECT_FALSE(r->allow(5, 100, 109)) << "90 bytes refilled";
  EXPECT_TRUE(r->allow(5, 100, 110)) << "100 bytes refilled";
  EXPECT_TRUE(r->allow(5, 1000, 100000)) << "refill caps at the burst";
  EXPECT_FALSE(r->allow(5, 1, 100000));
  EXPECT_FALSE(r->allow(2000, 1, 0)) << "ids beyond the table are refused";
  // Over a long run the sender gets the configured rate, not more.
  r->reset();
  r->configure({1, 100});
  uint64_t passed = 0;
  for (uint32_t t = 0; t < 100000; t++)
    if (r->allow(7, 10, t)) passed += 10;
  EXPECT_LE(passed, 100000u + 100u);
  EXPECT_GE(passed, 100000u - 100u);
}

} // namespace
