// Attention mass against distance, against values worked out by hand.
#include <catch2/catch.hpp>

#include "transformer/analysis/attention_stats.h"

using namespace qkv;

TEST_CASE("attention mass by distance: identity, uniform causal and a hand-made case", "[analysis]") {
  const int64_t t = 5;
  // Every query on itself: all mass at distance 0.
  auto identity = torch::eye(t).expand({2, 3, t, t});
  auto mass = attention_mass_by_distance(identity);
  REQUIRE(mass.size(0) == 2 * t - 1);
  CHECK(mass[t - 1].item<double>() == Approx(1.0));
  CHECK(mass.sum().item<double>() == Approx(1.0));

  // Uniform causal attention: query i spreads 1/(i+1) over keys 0..i, so distance d gets
  // (1/T) * sum over i >= d of 1/(i+1).
  auto uniform = torch::tril(torch::ones({t, t}));
  uniform = (uniform / uniform.sum(-1, true)).view({1, 1, t, t});
  mass = attention_mass_by_distance(uniform);
  for (int64_t d = 0; d < t; ++d) {
    double expected = 0;
    for (int64_t i = d; i < t; ++i) expected += 1.0 / double(i + 1);
    CHECK(mass[d + t - 1].item<double>() == Approx(expected / double(t)));
    if (d > 0) CHECK(mass[t - 1 - d].item<double>() == 0.0);  // nothing on future keys
  }

  // Two queries, bidirectional: query 0 puts 0.25 on key 1 (distance -1), query 1 puts 0.6 on key 0.
  auto w = torch::tensor({0.75, 0.25, 0.6, 0.4}, torch::kFloat64).view({1, 1, 2, 2});
  mass = attention_mass_by_distance(w);
  CHECK(mass[0].item<double>() == Approx(0.125));         // d = -1
  CHECK(mass[1].item<double>() == Approx((0.75 + 0.4) / 2));  // d = 0
  CHECK(mass[2].item<double>() == Approx(0.3));           // d = 1
}
