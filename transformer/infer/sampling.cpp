// Greedy and filtered sampling.
#include "transformer/infer/sampling.h"

#include <algorithm>
#include <limits>

namespace qkv {

torch::Tensor filter_logits(const torch::Tensor& logits, int64_t top_k, double top_p) {
  auto out = logits.to(torch::kFloat32).clone();  // (B, V)
  const double neg_inf = -std::numeric_limits<double>::infinity();
  if (top_k > 0 && top_k < out.size(-1)) {
    auto kth = std::get<0>(out.topk(top_k, -1)).select(-1, top_k - 1).unsqueeze(-1);  // (B, 1)
    out.masked_fill_(out < kth, neg_inf);
  }
  if (top_p < 1.0) {
    auto [sorted, order] = out.sort(-1, /*descending=*/true);  // (B, V)
    auto cumulative = torch::softmax(sorted, -1).cumsum(-1);
    // Drop a token when the tokens ranked above it already hold top_p of the mass; the first
    // token always stays.
    auto drop_sorted = (cumulative - torch::softmax(sorted, -1)) >= top_p;
    auto drop = torch::zeros_like(drop_sorted).scatter(-1, order, drop_sorted);
    out.masked_fill_(drop, neg_inf);
  }
  return out;
}

torch::Tensor penalize_repetition(const torch::Tensor& logits, const std::vector<int64_t>& seen, double penalty) {
  if (penalty == 1.0 || seen.empty()) return logits;
  auto out = logits.to(torch::kFloat32).clone();  // (B, V)
  std::vector<int64_t> unique = seen;  // each token penalised once, however often it appeared
  std::sort(unique.begin(), unique.end());
  unique.erase(std::unique(unique.begin(), unique.end()), unique.end());
  const auto ids = torch::tensor(unique, torch::kLong).to(out.device());
  auto picked = out.index_select(-1, ids);  // (B, n)
  out.index_copy_(-1, ids, torch::where(picked > 0, picked / penalty, picked * penalty));
  return out;
}

torch::Tensor choose_next(const torch::Tensor& logits, const SamplingOptions& options, torch::Generator& generator,
                          const std::vector<int64_t>& seen) {
  const auto penalised = penalize_repetition(logits, seen, options.repetition_penalty);
  if (options.temperature <= 0.0) return penalised.argmax(-1);
  // Temperature first, so top-p keeps the nucleus of the distribution that is sampled.
  auto filtered = filter_logits(penalised.to(torch::kFloat32) / options.temperature, options.top_k, options.top_p);
  auto probs = torch::softmax(filtered, -1);
  return torch::multinomial(probs, 1, false, generator).squeeze(-1);
}

}  // namespace qkv
