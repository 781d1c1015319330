// Attention summaries.
#include "transformer/analysis/attention_stats.h"

namespace qkv {

torch::Tensor attention_mass_by_distance(const torch::Tensor& weights) {
  TORCH_CHECK(weights.dim() == 4 && weights.size(2) == weights.size(3), "expected (B, H, T, T) attention weights");
  const int64_t t = weights.size(3);
  const double queries = double(weights.size(0) * weights.size(1) * t);
  const auto summed = weights.to(torch::kFloat64).sum(at::IntArrayRef{0, 1});  // (T, T) over batch and heads
  // Entry (i, j) is at distance i - j; bin it at index i - j + T - 1.
  const auto i = torch::arange(t, torch::dtype(torch::kLong).device(weights.device())).view({t, 1});
  const auto j = torch::arange(t, torch::dtype(torch::kLong).device(weights.device())).view({1, t});
  const auto bins = (i - j + (t - 1)).reshape({-1});
  return torch::bincount(bins, summed.reshape({-1}), 2 * t - 1) / queries;
}

}  // namespace qkv
