// The fused output-layer cross-entropy equals the unfused one (matmul, log-softmax, NLL) in value
// and in every gradient, with ignored targets, a bias and label smoothing; under bf16 autocast it
// stays close to the float32 loss.
#include <catch2/catch.hpp>

#include "helpers.h"
#include "transformer/kernels/cross_entropy.h"
#include "transformer/train/precision.h"

using namespace qkv;
namespace F = torch::nn::functional;

TEST_CASE("fused linear cross-entropy equals the unfused loss and its gradients", "[kernels]") {
  auto gen = at::detail::createCPUGenerator(4);
  for (const double smoothing : {0.0, 0.1}) {
    for (const bool with_bias : {false, true}) {
      CAPTURE(smoothing, with_bias);
      auto hidden = torch::randn({12, 8}, gen, torch::kFloat64).requires_grad_(true);
      auto weight = torch::randn({30, 8}, gen, torch::kFloat64).requires_grad_(true);
      auto bias = with_bias ? torch::randn({30}, gen, torch::kFloat64).requires_grad_(true) : torch::Tensor();
      auto targets = torch::randint(30, {12}, gen, torch::kLong);
      targets[3] = -100;
      targets[7] = -100;
      auto fused = linear_cross_entropy(hidden, weight, bias, targets, -100, smoothing);
      fused.backward();
      const auto g_hidden = hidden.grad().clone(), g_weight = weight.grad().clone();
      const auto g_bias = with_bias ? bias.grad().clone() : torch::Tensor();
      hidden.mutable_grad().reset();
      weight.mutable_grad().reset();
      if (with_bias) bias.mutable_grad().reset();
      auto logits = torch::matmul(hidden, weight.t());
      if (with_bias) logits = logits + bias;
      auto plain = F::cross_entropy(logits, targets, F::CrossEntropyFuncOptions().ignore_index(-100).label_smoothing(smoothing));
      plain.backward();
      CHECK(fused.item<double>() == Approx(plain.item<double>()).epsilon(1e-6));
      CHECK(torch::allclose(g_hidden, hidden.grad(), 1e-6, 1e-9));
      CHECK(torch::allclose(g_weight, weight.grad(), 1e-6, 1e-9));
      if (with_bias) CHECK(torch::allclose(g_bias, bias.grad(), 1e-6, 1e-9));
      CHECK(g_hidden[3].abs().sum().item<double>() == 0.0);  // an ignored row gets no gradient
    }
  }
}

TEST_CASE("the float32 row kernels equal the float64 loss and gradients", "[kernels]") {
  // Float32 logits on the CPU take the row kernels (their own exp, log-sum-exp per row); float64
  // takes LibTorch's log-softmax. Wide rows, large logits and ignored targets included.
  auto gen = at::detail::createCPUGenerator(6);
  for (const double smoothing : {0.0, 0.1}) {
    for (const bool with_bias : {false, true}) {
      CAPTURE(smoothing, with_bias);
      auto hidden64 = torch::randn({20, 16}, gen, torch::kFloat64) * 3;
      auto weight64 = torch::randn({333, 16}, gen, torch::kFloat64);
      auto bias64 = torch::randn({333}, gen, torch::kFloat64);
      auto targets = torch::randint(333, {20}, gen, torch::kLong);
      targets[5] = -100;
      std::vector<torch::Tensor> losses, grads;
      for (const auto dtype : {torch::kFloat64, torch::kFloat32}) {
        auto hidden = hidden64.to(dtype).clone().requires_grad_(true);
        auto weight = weight64.to(dtype).clone().requires_grad_(true);
        auto bias = with_bias ? bias64.to(dtype).clone().requires_grad_(true) : torch::Tensor();
        auto loss = linear_cross_entropy(hidden, weight, bias, targets, -100, smoothing);
        loss.backward();
        losses.push_back(loss.to(torch::kFloat64));
        grads.push_back(hidden.grad().to(torch::kFloat64));
        grads.push_back(weight.grad().to(torch::kFloat64));
        if (with_bias) grads.push_back(bias.grad().to(torch::kFloat64));
      }
      CHECK(losses[1].item<double>() == Approx(losses[0].item<double>()).epsilon(1e-5));
      const size_t half = grads.size() / 2;
      for (size_t i = 0; i < half; ++i) CHECK(torch::allclose(grads[half + i], grads[i], 1e-4, 1e-6));
    }
  }
}

TEST_CASE("fused cross-entropy under bf16 autocast stays near float32, gradients in the inputs' dtypes", "[kernels]") {
  auto gen = at::detail::createCPUGenerator(5);
  auto hidden = torch::randn({64, 32}, gen).requires_grad_(true);
  auto weight = (torch::randn({100, 32}, gen) * 0.1).requires_grad_(true);
  auto targets = torch::randint(100, {64}, gen, torch::kLong);
  const double exact = linear_cross_entropy(hidden, weight, {}, targets, -100).item<double>();
  torch::Tensor loss;
  {
    AutocastScope autocast(Precision::kBf16);
    loss = linear_cross_entropy(hidden, weight, {}, targets, -100);
  }
  loss.backward();
  CHECK(loss.scalar_type() == torch::kFloat32);
  CHECK(loss.item<double>() == Approx(exact).epsilon(1e-2));
  CHECK(hidden.grad().scalar_type() == torch::kFloat32);
  CHECK(weight.grad().scalar_type() == torch::kFloat32);
  CHECK(linear_cross_entropy_sum(hidden, weight, {}, targets, -100) == Approx(exact * 64).epsilon(1e-6));
}
