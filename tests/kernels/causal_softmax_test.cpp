// The causal softmax kernel against LibTorch's masked softmax in float64, through the attention
// core's reference path (causal_only selects the kernel).
#include <catch2/catch.hpp>

#include "transformer/core/attention.h"

using namespace qkv;

TEST_CASE("the causal softmax kernel equals the masked softmax, probabilities and gradients, float32 and bf16",
          "[kernels]") {
  const int64_t T = GENERATE(1, 7, 16, 33);  // tails shorter and longer than one 16-lane step
  CAPTURE(T);
  torch::manual_seed(11);
  const int64_t B = 2, H = 3, Dh = 8;
  auto q0 = torch::randn({B, H, T, Dh}) * 2, k0 = torch::randn({B, H, T, Dh}), v0 = torch::randn({B, H, T, Dh});
  auto upstream = torch::randn({B, H, T, Dh});
  // The same causal mask, given as a mask (LibTorch's masked softmax) or as causal_only (the kernel).
  auto run = [&](torch::Dtype dtype, bool kernel, torch::Tensor* weights) {
    AttentionInputs in;
    in.keep_mask = torch::ones({T, T}, torch::kBool).tril().view({1, 1, T, T});
    in.causal_only = kernel;
    auto leaf = [&](const torch::Tensor& t) { return t.to(dtype, false, /*copy=*/true).requires_grad_(true); };
    auto q = leaf(q0), k = leaf(k0), v = leaf(v0);
    auto out = attend_reference(q, k, v, in, 0.0, false, weights);
    (out.to(torch::kFloat64) * upstream.to(torch::kFloat64)).sum().backward();
    return std::vector<torch::Tensor>{out.to(torch::kFloat64), q.grad().to(torch::kFloat64),
                                      k.grad().to(torch::kFloat64), v.grad().to(torch::kFloat64)};
  };
  torch::Tensor weights;
  const auto truth = run(torch::kFloat64, false, nullptr);  // LibTorch in float64
  const auto f32 = run(torch::kFloat32, true, &weights);
  for (size_t i = 0; i < truth.size(); ++i) CHECK(torch::allclose(f32[i], truth[i], 1e-5, 1e-5));
  // Rows sum to one and every future key gets exactly zero.
  CHECK(torch::allclose(weights.sum(-1), torch::ones({B, H, T}), 1e-6, 1e-6));
  CHECK(weights.triu(1).eq(0).all().item<bool>());
  // bf16: no further from the float64 truth than LibTorch's own masked softmax in bf16, within a
  // margin for the probabilities the backward reads (bf16 here, float32 there).
  const auto kernel = run(torch::kBFloat16, true, nullptr);
  const auto library = run(torch::kBFloat16, false, nullptr);
  for (size_t i = 0; i < truth.size(); ++i) {
    const double kernel_error = (kernel[i] - truth[i]).abs().max().item<double>();
    const double library_error = (library[i] - truth[i]).abs().max().item<double>();
    CAPTURE(i, kernel_error, library_error);
    CHECK(kernel_error <= 2 * library_error + 0.02);
  }
}
