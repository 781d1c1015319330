// T5 relative position buckets (Raffel et al. 2020, section 2.1): a learned scalar per bucket and
// head, added to the logits, shared by all layers of a stack. Buckets are exact for small
// distances and log-spaced up to max_distance; the causal form uses only past distances.
#include <fmt/format.h>

#include "transformer/config/position_scheme.h"
#ifndef QKV_POSITION_DESCRIPTORS
#include <cmath>
#include "transformer/core/position.h"
#endif

namespace qkv {

#ifdef QKV_POSITION_DESCRIPTORS

const PositionSchemeSpec& t5_position_spec() {
  static const PositionSchemeSpec spec{
      "t5", "a learned bias per log-spaced relative-distance bucket and head (Raffel et al. 2020, 2.1)",
      {{"buckets", 32, 2, 4096, /*integer=*/true, "t5: number of buckets"},
       {"max_distance", 128, 2, 1 << 20, /*integer=*/true, "t5: distance of the last bucket"}},
      kBiasesScores, /*relative=*/true, /*bounded_by_max_len=*/false,
      [](const PositionConfig& p, int64_t head_dim) -> PositionProblem {
        // The bidirectional form halves the buckets; each half needs exact buckets and a log range.
        const int64_t buckets = p.integer("buckets"), max_distance = p.integer("max_distance");
        if (buckets < 4) return {"buckets", fmt::format("expected at least 4, found {}", buckets)};
        if (max_distance <= buckets / 2) {
          return {"max_distance", fmt::format("must exceed buckets/2 = {} (the exact buckets), found {}", buckets / 2, max_distance)};
        }
        return {};
      }};
  return spec;
}

#else

torch::Tensor t5_bucket(const torch::Tensor& relative, bool bidirectional, int64_t buckets,
                        int64_t max_distance) {
  // relative = key position - query position; n is the distance into the past.
  auto n = -relative.to(torch::kLong);
  auto bucket = torch::zeros_like(n);
  if (bidirectional) {
    buckets /= 2;
    bucket = bucket + (n < 0).to(torch::kLong) * buckets;  // keys after the query use the upper half
    n = n.abs();
  } else {
    n = n.clamp_min(0);
  }
  const int64_t max_exact = buckets / 2;
  auto scaled = torch::log(n.clamp_min(1).to(torch::kFloat64) / double(max_exact)) /
                std::log(double(max_distance) / double(max_exact)) * double(buckets - max_exact);
  auto large = (scaled.to(torch::kLong) + max_exact).clamp_max(buckets - 1);
  return bucket + torch::where(n < max_exact, n, large);
}

namespace {

class T5Impl : public PositionSchemeImpl {
 public:
  explicit T5Impl(const PositionOptions& options) : PositionSchemeImpl(options) {
    table_ = register_module("table", torch::nn::Embedding(options.integer("buckets"), options.heads));
  }

  PositionSignals signals(int64_t q_len, int64_t q_offset, int64_t k_len, int64_t k_offset,
                          torch::Device device) override {
    auto relative = key_minus_query(q_len, q_offset, k_len, k_offset, torch::kLong, device);  // (Tq, Tk)
    auto bucket = t5_bucket(relative, !options_.causal, options_.integer("buckets"), options_.integer("max_distance"));
    PositionSignals out;
    out.score_bias = table_->forward(bucket).permute({2, 0, 1}).unsqueeze(0).to(torch::kFloat32);  // (1, H, Tq, Tk)
    return out;
  }

 private:
  torch::nn::Embedding table_{nullptr};
};

}  // namespace

PositionScheme t5_position_module(const PositionOptions& options) {
  return wrap_scheme<T5Impl>(options);
}

#endif

}  // namespace qkv
