// The feed-forward's CPU GELU kernel against LibTorch's exact (erf) GELU in float64.
#include <catch2/catch.hpp>

#include <limits>

#include "transformer/core/feed_forward.h"

using namespace qkv;

TEST_CASE("the GELU kernel equals the exact GELU, values and gradients, float32 and bf16", "[kernels]") {
  torch::manual_seed(2);
  // Both signs, the far tails (Phi 0 and 1), zero, and lengths that leave a vector tail.
  auto x0 = torch::cat({torch::randn({1037}) * 3, torch::linspace(-30, 30, 61), torch::tensor({0.0f, 1e-6f, -1e-6f})});
  auto upstream = torch::randn_like(x0);
  auto truth_x = x0.to(torch::kFloat64).requires_grad_(true);
  auto truth = torch::gelu(truth_x);
  truth.backward(upstream.to(torch::kFloat64));
  for (const auto dtype : {torch::kFloat32, torch::kBFloat16}) {
    CAPTURE(dtype);
    auto x = x0.to(dtype, false, /*copy=*/true).requires_grad_(true);
    auto y = qkv::gelu(x);
    REQUIRE(y.scalar_type() == dtype);
    y.backward(upstream.to(dtype));
    // float32: the erf approximation's 1.5e-7 times |x|; bf16: LibTorch's own bf16 GELU as the bar.
    const double tol = dtype == torch::kFloat32 ? 1e-5 : 0.0;
    auto error = (y.to(torch::kFloat64) - truth.detach()).abs();
    auto grad_error = (x.grad().to(torch::kFloat64) - truth_x.grad()).abs();
    if (dtype == torch::kFloat32) {
      CHECK(error.max().item<double>() < tol * 4);
      CHECK(grad_error.max().item<double>() < tol);
    } else {
      auto lib_x = x0.to(dtype, false, /*copy=*/true).requires_grad_(true);
      auto lib = torch::gelu(lib_x);
      lib.backward(upstream.to(dtype));
      const double lib_error = (lib.to(torch::kFloat64) - truth.detach()).abs().max().item<double>();
      const double lib_grad_error = (lib_x.grad().to(torch::kFloat64) - truth_x.grad()).abs().max().item<double>();
      CAPTURE(lib_error, lib_grad_error);
      CHECK(error.max().item<double>() <= 1.01 * lib_error + 1e-6);
      CHECK(grad_error.max().item<double>() <= 1.01 * lib_grad_error + 1e-6);
    }
  }
  // Infinities and NaN behave as in LibTorch: gelu(inf) = inf, gelu(-inf) is NaN (-inf * 0) there too.
  auto special = torch::tensor({std::numeric_limits<float>::infinity(), std::numeric_limits<float>::quiet_NaN()});
  auto out = qkv::gelu(special);
  CHECK(std::isinf(out[0].item<float>()));
  CHECK(std::isnan(out[1].item<float>()));
}
