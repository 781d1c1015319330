// The counter-hash dropout drops each element with probability p, independently of its
// neighbours, scales the kept ones by 1 / (1 - p), repeats under the same seed, and its backward
// uses exactly the forward's mask.
#include <catch2/catch.hpp>

#include <limits>

#include "helpers.h"
#include "transformer/kernels/dropout.h"

using namespace qkv;

TEST_CASE("hash dropout keeps 1 - p of the elements, scaled, independently of position", "[kernels]") {
  const int64_t n = 1 << 20;
  for (const double p : {0.1, 0.5, 0.9}) {
    CAPTURE(p);
    const auto ones = torch::ones({n});
    const auto y = dropout_seeded(ones, p, 1234);
    const auto kept = y.ne(0);
    // Kept elements carry exactly 1 / (1 - p).
    CHECK(torch::allclose(y.masked_select(kept), torch::full({1}, 1.0 / (1.0 - p)), 1e-6, 0));
    // Fraction kept within 5 standard deviations of 1 - p.
    const double frac = kept.to(torch::kDouble).mean().item<double>();
    const double sd = std::sqrt(p * (1 - p) / double(n));
    CHECK(std::abs(frac - (1 - p)) < 5 * sd);
    // Neighbours (the two halves of one hash, and consecutive hashes) and far-apart elements are
    // uncorrelated: P(both kept) = (1 - p)^2 within 5 standard deviations.
    const auto k = kept.to(torch::kDouble);
    for (const int64_t lag : {1, 2, 3, 64, 4096}) {
      CAPTURE(lag);
      const double both = (k.slice(0, 0, n - lag) * k.slice(0, lag)).mean().item<double>();
      const double q = (1 - p) * (1 - p);
      CHECK(std::abs(both - q) < 5 * std::sqrt(q * (1 - q) / double(n - lag)));
    }
    // The mean of the output is the mean of the input (dropout is unbiased).
    CHECK(y.mean().item<double>() == Approx(1.0).margin(5 * sd / (1 - p)));
  }
}

TEST_CASE("hash dropout repeats under a seed and its backward uses the forward's mask", "[kernels]") {
  auto gen = at::detail::createCPUGenerator(2);
  const auto x = torch::randn({37, 53}, gen, torch::kFloat64);
  CHECK(torch::equal(dropout_seeded(x, 0.3, 7), dropout_seeded(x, 0.3, 7)));
  CHECK_FALSE(torch::equal(dropout_seeded(x, 0.3, 7).ne(0), dropout_seeded(x, 0.3, 8).ne(0)));
  // The default-generator form follows torch::manual_seed.
  torch::manual_seed(5);
  const auto a = qkv::dropout(x, 0.3, true);
  torch::manual_seed(5);
  CHECK(torch::equal(a, qkv::dropout(x, 0.3, true)));
  CHECK(torch::equal(qkv::dropout(x, 0.3, false), x));
  // d out / d x is the forward's mask times 1 / (1 - p).
  auto leaf = x.clone().requires_grad_(true);
  const auto y = dropout_seeded(leaf, 0.3, 11);
  const auto upstream = torch::randn_like(x);
  y.backward(upstream);
  const auto mask = y.detach().ne(0).to(torch::kDouble) / 0.7;
  CHECK(torch::allclose(leaf.grad(), upstream * mask, 1e-12, 0));
  // bf16 inputs keep their dtype and the same mask as float32 inputs.
  const auto yb = dropout_seeded(torch::ones({1000}, torch::kBFloat16), 0.2, 3);
  CHECK(yb.scalar_type() == torch::kBFloat16);
  CHECK(torch::equal(yb.ne(0), dropout_seeded(torch::ones({1000}), 0.2, 3).ne(0)));
  // The mask is multiplied in as LibTorch multiplies: bit for bit x * (the dropout of ones), with
  // bf16 products rounded to nearest even, and 0 * inf giving NaN as it would.
  for (const auto type : {torch::kFloat32, torch::kBFloat16, torch::kFloat64}) {
    CAPTURE(type);
    auto values = torch::randn({4099}, gen, torch::kFloat64).mul_(100).to(type);
    values.slice(0, 5, 25).fill_(std::numeric_limits<double>::infinity());
    values[30] = std::numeric_limits<double>::quiet_NaN();
    const auto mask = dropout_seeded(torch::ones({4099}, type), 0.3, 21);
    const auto expected = values * mask;
    const auto got = dropout_seeded(values, 0.3, 21);
    REQUIRE(expected.slice(0, 5, 25).isnan().any().item<bool>());  // a dropped inf among them
    CHECK(torch::equal(got.isnan(), expected.isnan()));
    const auto finite = expected.isnan().logical_not();
    CHECK(torch::equal(got.masked_select(finite), expected.masked_select(finite)));
  }
  // Boundaries: p = 0 is the identity, p = 1 drops everything.
  CHECK(torch::equal(dropout_seeded(x, 0.0, 1), x));
  CHECK(dropout_seeded(x, 1.0, 1).abs().sum().item<double>() == 0.0);
}
