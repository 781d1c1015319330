// The one-pass AdamW follows LibTorch's AdamW step for step, with and without weight decay, and
// keeps the same state, so either loads the other's checkpoints.
#include <catch2/catch.hpp>

#include "helpers.h"
#include "transformer/train/fused_adamw.h"

using namespace qkv;

TEST_CASE("one-pass AdamW equals LibTorch's AdamW over many steps", "[train]") {
  auto gen = at::detail::createCPUGenerator(6);
  auto start = torch::randn({300, 70}, gen);
  auto a = start.clone().requires_grad_(true), b = start.clone().requires_grad_(true);
  auto small_a = torch::randn({5}, gen).requires_grad_(true);
  auto small_b = small_a.detach().clone().requires_grad_(true);
  auto options = torch::optim::AdamWOptions(3e-3).betas({0.9, 0.95}).eps(1e-8).weight_decay(0.1);
  FusedAdamW fused({a, small_a}, options);
  torch::optim::AdamW reference({b, small_b}, options);
  for (int step = 0; step < 25; ++step) {
    auto g = torch::randn({300, 70}, gen), h = torch::randn({5}, gen);
    a.mutable_grad() = g.clone(), b.mutable_grad() = g.clone();
    small_a.mutable_grad() = h.clone(), small_b.mutable_grad() = h.clone();
    fused.step();
    reference.step();
  }
  CHECK(torch::allclose(a, b, 1e-5, 1e-7));
  CHECK(torch::allclose(small_a, small_b, 1e-5, 1e-7));
  CHECK_FALSE(torch::equal(a, start));
  // The same state: LibTorch's AdamW loaded from the fused one's continues exactly as it would.
  std::stringstream saved;
  torch::save(fused, saved);
  auto c = a.detach().clone().requires_grad_(true), small_c = small_a.detach().clone().requires_grad_(true);
  torch::optim::AdamW restored({c, small_c}, options);
  REQUIRE_NOTHROW(torch::load(restored, saved));
  auto g = torch::randn({300, 70}, gen), h = torch::randn({5}, gen);
  a.mutable_grad() = g.clone(), c.mutable_grad() = g.clone();
  small_a.mutable_grad() = h.clone(), small_c.mutable_grad() = h.clone();
  fused.step();
  restored.step();
  CHECK(torch::allclose(a, c, 1e-6, 1e-8));
  CHECK(torch::allclose(small_a, small_c, 1e-6, 1e-8));
}

TEST_CASE("the multi-tensor AdamW used on a GPU equals LibTorch's AdamW (checked on the CPU)", "[train]") {
  if (!multi_tensor_adamw_available(torch::kCPU)) {
    WARN("at::_fused_adamw_ has no CPU kernel before LibTorch 2.4: the GPU's AdamW path is not exercised here");
    return;
  }
  auto gen = at::detail::createCPUGenerator(8);
  auto start = torch::randn({200, 30}, gen), small = torch::randn({7}, gen);
  auto a = start.clone(), small_a = small.clone();
  auto m = torch::zeros_like(a), v = torch::zeros_like(a), small_m = torch::zeros_like(small_a),
       small_v = torch::zeros_like(small_a);
  auto b = start.clone().requires_grad_(true), small_b = small.clone().requires_grad_(true);
  auto options = torch::optim::AdamWOptions(3e-3).betas({0.9, 0.95}).eps(1e-8).weight_decay(0.1);
  torch::optim::AdamW reference({b, small_b}, options);
  for (int step = 1; step <= 25; ++step) {
    auto g = torch::randn({200, 30}, gen), h = torch::randn({7}, gen);
    b.mutable_grad() = g.clone(), small_b.mutable_grad() = h.clone();
    multi_tensor_adamw({a, small_a}, {g, h}, {m, small_m}, {v, small_v}, step, 3e-3, 0.9, 0.95, 0.1, 1e-8);
    reference.step();
  }
  CHECK(torch::allclose(a, b, 1e-5, 1e-7));
  CHECK(torch::allclose(small_a, small_b, 1e-5, 1e-7));
  CHECK_FALSE(torch::equal(a, start));
}
