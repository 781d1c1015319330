// ALiBi (Press et al. 2021): no position embeddings; each head h adds -m_h * |i - j| to its
// logits, with slopes m_h a geometric sequence. Decoders see only j <= i (the causal mask hides the
// rest); encoders use the same symmetric distance in both directions.
#include "transformer/config/position_scheme.h"
#ifndef QKV_POSITION_DESCRIPTORS
#include <cmath>
#include "transformer/core/position.h"
#endif

namespace qkv {

#ifdef QKV_POSITION_DESCRIPTORS

const PositionSchemeSpec& alibi_position_spec() {
  static const PositionSchemeSpec spec{"alibi", "a fixed linear penalty -m_h |i - j| per head on the logits (Press et al. 2021)",
                                       {}, kBiasesScores, /*relative=*/true, /*bounded_by_max_len=*/false, nullptr};
  return spec;
}

#else

namespace {

std::vector<double> power_of_two_slopes(int64_t heads) {
  // start = 2^(-8/n), m_h = start^(h+1): for 8 heads 1/2, 1/4, ..., 1/256.
  const double start = std::pow(2.0, -8.0 / double(heads));
  std::vector<double> slopes;
  for (int64_t h = 0; h < heads; ++h) slopes.push_back(std::pow(start, double(h + 1)));
  return slopes;
}

}  // namespace

std::vector<double> alibi_slopes(int64_t heads) {
  // For a head count that is not a power of two, the paper takes the slopes of the closest
  // smaller power of two, then every other slope of twice that count.
  int64_t closest = 1;
  while (closest * 2 <= heads) closest *= 2;
  auto slopes = power_of_two_slopes(closest);
  if (closest < heads) {
    auto extra = power_of_two_slopes(2 * closest);
    for (int64_t h = 0; h < heads - closest; ++h) slopes.push_back(extra[2 * h]);
  }
  return slopes;
}

namespace {

class AlibiImpl : public PositionSchemeImpl {
 public:
  explicit AlibiImpl(const PositionOptions& options) : PositionSchemeImpl(options) {
    slopes_ = torch::tensor(alibi_slopes(options.heads), torch::kFloat32).view({1, -1, 1, 1});  // (1, H, 1, 1)
  }

  PositionSignals signals(int64_t q_len, int64_t q_offset, int64_t k_len, int64_t k_offset,
                          torch::Device device) override {
    auto distance = key_minus_query(q_len, q_offset, k_len, k_offset, torch::kFloat32, device).abs();  // (Tq, Tk)
    PositionSignals out;
    out.score_bias = -slopes_.to(device) * distance.unsqueeze(0).unsqueeze(0);  // (1, H, Tq, Tk)
    return out;
  }

 private:
  torch::Tensor slopes_;
};

}  // namespace

PositionScheme alibi_position_module(const PositionOptions& options) {
  return wrap_scheme<AlibiImpl>(options);
}

#endif

}  // namespace qkv
