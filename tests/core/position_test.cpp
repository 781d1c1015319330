// Position schemes against their papers: relative schemes depend only on i - j, RoPE preserves
// norms, sinusoidal matches Vaswani et al., ALiBi slopes match Press et al., T5 buckets, and
// learned positions refuse to reach past their table.
#include <catch2/catch.hpp>

#include <cmath>

#include "helpers.h"
#include "core/scheme_of.h"
#include "transformer/core/attention.h"

using namespace qkv;

namespace {

// Logits (1, H, Tq, Tk) for queries and keys whose content is the same vector at every position,
// at absolute positions offset.. (queries and keys alike).
torch::Tensor logits_at(PositionScheme& scheme, const torch::Tensor& q1, const torch::Tensor& k1, int64_t len, int64_t offset) {
  auto q = q1.expand({1, 4, len, 8}).contiguous();
  auto k = k1.expand({1, 4, len, 8}).contiguous();
  auto signals = scheme->signals(len, offset, len, offset, torch::kCPU);
  return test::logits_with(q, k, signals, signals);
}

}  // namespace

TEST_CASE("relative schemes: attention logits depend only on the offset i - j", "[core]") {
  const auto kind = GENERATE(as<std::string>{}, "shaw", "t5", "rope", "alibi", "xpos", "kerple");
  const bool causal = GENERATE(false, true);
  CAPTURE(kind, causal);
  auto scheme = test::scheme_of(kind, causal);
  auto q1 = torch::randn({1, 4, 1, 8}, torch::kFloat64);
  auto k1 = torch::randn({1, 4, 1, 8}, torch::kFloat64);
  const int64_t len = 24;
  auto logits = logits_at(scheme, q1, k1, len, 0);  // (1, H, T, T)
  // Constant along every diagonal: logits[i][j] == logits[i+1][j+1].
  auto inner = logits.narrow(2, 1, len - 1).narrow(3, 1, len - 1);
  auto outer = logits.narrow(2, 0, len - 1).narrow(3, 0, len - 1);
  CHECK(torch::allclose(inner, outer, 1e-5, 1e-5));
  // And unchanged when every position moves by the same amount.
  CHECK(torch::allclose(logits, logits_at(scheme, q1, k1, len, 37), 1e-5, 1e-5));
  // Not constant across diagonals, so the position term is really there.
  CHECK_FALSE(torch::allclose(logits.select(2, len - 1).select(2, 0), logits.select(2, len - 1).select(2, len - 1)));
}

TEST_CASE("RoPE preserves the norms of q and k and leaves unrotated dims alone", "[core]") {
  PositionOptions o;
  o.config.scheme = "rope";
  o.d_model = 64;
  o.heads = 4;  // Dh 16
  o.config.set("fraction", 0.5);  // 8 rotated dims
  auto scheme = make_position_scheme(o);
  auto signals = scheme->signals(50, 3, 50, 3, torch::kCPU);
  REQUIRE(signals.cos.size(1) == 4);
  auto x = torch::randn({2, 4, 50, 16}, torch::kFloat64);
  auto rotated = apply_rotary(x, signals.cos, signals.sin);
  CHECK(torch::allclose(x.norm(2, -1), rotated.norm(2, -1), 1e-6, 1e-6));
  CHECK(torch::equal(x.narrow(-1, 8, 8), rotated.narrow(-1, 8, 8)));
  CHECK_FALSE(torch::allclose(x.narrow(-1, 0, 8), rotated.narrow(-1, 0, 8)));
}

TEST_CASE("sinusoidal positions match Vaswani et al. section 3.5", "[core]") {
  const int64_t len = 40, dim = 12;
  auto table = sinusoidal_table(0, len, dim);
  for (int64_t pos = 0; pos < len; ++pos)
    for (int64_t i = 0; i < dim / 2; ++i) {
      const double angle = double(pos) / std::pow(10000.0, 2.0 * double(i) / double(dim));
      CHECK(table[pos][2 * i].item<double>() == Approx(std::sin(angle)).margin(1e-6));
      CHECK(table[pos][2 * i + 1].item<double>() == Approx(std::cos(angle)).margin(1e-6));
    }
  // An offset table is the same rows further down.
  CHECK(torch::allclose(sinusoidal_table(7, 10, dim), table.narrow(0, 7, 10)));
}

TEST_CASE("ALiBi slopes match Press et al. for 8 and 12 heads", "[core]") {
  const std::vector<double> eight{1.0 / 2, 1.0 / 4, 1.0 / 8, 1.0 / 16, 1.0 / 32, 1.0 / 64, 1.0 / 128, 1.0 / 256};
  CHECK_THAT(alibi_slopes(8), Catch::Approx(eight));
  // 12 heads: the 8-head slopes, then the odd-position slopes of 16 heads, 2^-0.5, 2^-1.5, ...
  std::vector<double> twelve = eight;
  for (double e : {0.5, 1.5, 2.5, 3.5}) twelve.push_back(std::pow(2.0, -e));
  CHECK_THAT(alibi_slopes(12), Catch::Approx(twelve));
}

TEST_CASE("T5 buckets: exact near, logarithmic far, one-sided when causal", "[core]") {
  auto rel = torch::arange(-200, 201);
  auto bidirectional = t5_bucket(rel, true, 32, 128);
  auto causal = t5_bucket(rel, false, 32, 128);
  auto at = [&](const torch::Tensor& b, int64_t r) { return b[r + 200].item<int64_t>(); };
  // Bidirectional: 16 buckets per direction, the first 8 exact.
  for (int64_t d = 0; d < 8; ++d) {
    CHECK(at(bidirectional, -d) == d);      // key before the query
    CHECK(at(bidirectional, d) == (d == 0 ? 0 : 16 + d));  // key after the query
  }
  // Log-spaced: distance 8 opens bucket 8; 128 and beyond share the last bucket of their half.
  CHECK(at(bidirectional, -8) == 8);
  CHECK(at(bidirectional, -63) == 13);  // 8 + floor(log(63/8) / log(128/8) * 8)
  CHECK(at(bidirectional, -64) == 14);
  CHECK(at(bidirectional, -128) == 15);
  CHECK(at(bidirectional, -200) == 15);
  CHECK(at(bidirectional, 200) == 31);
  // Causal: every future key shares bucket 0; the past uses all 32 buckets, 16 exact.
  CHECK(at(causal, 5) == 0);
  CHECK(at(causal, -15) == 15);
  CHECK(at(causal, -16) == 16);
  CHECK(at(causal, -200) == 31);
  // Non-decreasing with distance into the past.
  auto past = causal.narrow(0, 0, 201).flip(0);  // distances 0..200
  CHECK((past.narrow(0, 1, 200) >= past.narrow(0, 0, 200)).all().item<bool>());
}

TEST_CASE("learned positions refuse positions past their table", "[core]") {
  PositionOptions o;
  o.config.scheme = "learned";
  o.d_model = 8;
  o.heads = 2;
  o.max_len = 16;
  auto scheme = make_position_scheme(o);
  CHECK(scheme->max_positions() == 16);
  CHECK_NOTHROW(scheme->embed(torch::zeros({1, 16, 8}), 0));
  CHECK_THROWS_WITH(scheme->embed(torch::zeros({1, 4, 8}), 14), Catch::Contains("max_len"));
}

TEST_CASE("RoPE on the CPU equals the rotate-half formula in float64, forward and gradient", "[core]") {
  PositionOptions o;
  o.config.scheme = "rope";
  o.d_model = 48;
  o.heads = 3;       // Dh 16
  o.config.set("fraction", 0.5);  // 8 rotated dims, 8 passed through
  auto scheme = make_position_scheme(o);
  auto signals = scheme->signals(11, 5, 11, 5, torch::kCPU);
  const int64_t half = signals.cos.size(1);
  // The heads of a fused projection: a (B, H, T, Dh) view whose rows are not contiguous.
  const auto projected = torch::randn({2, 11, 3 * 48}, torch::kFloat64);
  const auto upstream = torch::randn({2, 3, 11, 16}, torch::kFloat64);
  for (auto type : {torch::kFloat64, torch::kFloat32, torch::kBFloat16}) {
    CAPTURE(type);
    const double tol = type == torch::kFloat64 ? 1e-12 : type == torch::kFloat32 ? 1e-5 : 3e-2;
    auto leaf = projected.to(type).detach().clone().requires_grad_(true);
    auto x = leaf.narrow(-1, 48, 48).view({2, 11, 3, 16}).transpose(1, 2);
    REQUIRE_FALSE(x.is_contiguous());
    auto y = apply_rotary(x, signals.cos, signals.sin);
    REQUIRE(y.scalar_type() == type);
    (y * upstream.to(type)).sum().backward();
    // The reference, op by op in float64 on the same (rounded) inputs.
    auto ref_leaf = leaf.detach().to(torch::kFloat64).requires_grad_(true);
    auto rx = ref_leaf.narrow(-1, 48, 48).view({2, 11, 3, 16}).transpose(1, 2);
    auto c = signals.cos.to(torch::kFloat64), s = signals.sin.to(torch::kFloat64);
    auto x1 = rx.narrow(-1, 0, half), x2 = rx.narrow(-1, half, half);
    auto ref = torch::cat({x1 * c - x2 * s, x2 * c + x1 * s, rx.narrow(-1, 2 * half, 16 - 2 * half)}, -1);
    (ref * upstream.to(type).to(torch::kFloat64)).sum().backward();
    CHECK(torch::allclose(y.to(torch::kFloat64), ref, tol, tol));
    CHECK(torch::allclose(leaf.grad().to(torch::kFloat64), ref_leaf.grad(), tol, tol));
    // Only the key columns of the projection get a gradient.
    CHECK(leaf.grad().narrow(-1, 0, 48).abs().max().item<double>() == 0.0);
  }
}
