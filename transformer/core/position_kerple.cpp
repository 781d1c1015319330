// KERPLE (Chi et al. 2022): a conditionally positive definite kernel of the distance |i - j|,
// learned per head, added to the logits and shared by the layers of a stack (as t5's table):
// log: -r1 log(1 + r2 |i - j|); power: -r1 |i - j|^r2 with r2 in (0, 2]. r1 and r2 are kept
// positive by clamping, as the paper's implementation does. Power starts as ALiBi (r1 the ALiBi
// slope of the head, r2 = 1); log with r1 = 1 and r2 the ALiBi slopes times 8, so heads differ.
#include "transformer/config/position_scheme.h"
#ifndef QKV_POSITION_DESCRIPTORS
#include "transformer/core/position.h"
#endif

namespace qkv {

enum KerpleKernel : int64_t { kKerpleLog = 0, kKerplePower = 1 };

#ifdef QKV_POSITION_DESCRIPTORS

const PositionSchemeSpec& kerple_position_spec() {
  static const Choices<int64_t> kernels{{"log", kKerpleLog}, {"power", kKerplePower}};
  static const PositionSchemeSpec spec{
      "kerple", "a learned kernel of |i - j| per head on the logits, log or power (Chi et al. 2022)",
      {{"kernel", kKerpleLog, 0, 1, /*integer=*/true, "kerple: log (-r1 log(1 + r2 d)) or power (-r1 d^r2)", &kernels}},
      kBiasesScores, /*relative=*/true, /*bounded_by_max_len=*/false, nullptr};
  return spec;
}

#else

namespace {

constexpr double kKerpleMin = 1e-2;  // the clamp that keeps r1 and r2 positive

class KerpleImpl : public PositionSchemeImpl {
 public:
  explicit KerpleImpl(const PositionOptions& options) : PositionSchemeImpl(options) {
    power_ = options.integer("kernel") == kKerplePower;
    auto slopes = torch::tensor(alibi_slopes(options.heads), torch::kFloat32);
    r1_ = register_parameter("r1", power_ ? slopes : torch::ones({options.heads}));
    r2_ = register_parameter("r2", power_ ? torch::ones({options.heads}) : slopes * 8.0);
  }

  PositionSignals signals(int64_t q_len, int64_t q_offset, int64_t k_len, int64_t k_offset,
                          torch::Device device) override {
    auto distance = key_minus_query(q_len, q_offset, k_len, k_offset, torch::kFloat32, device).abs().unsqueeze(0).unsqueeze(0);  // (1, 1, Tq, Tk)
    auto r1 = r1_.to(device).clamp_min(kKerpleMin).view({1, -1, 1, 1});              // (1, H, 1, 1)
    auto r2 = r2_.to(device).view({1, -1, 1, 1});
    PositionSignals out;
    if (power_) {
      // d^r2 with d = 0 kept out of pow, whose gradient in r2 there is 0 * log 0.
      auto powered = distance.clamp_min(1.0).pow(r2.clamp(kKerpleMin, 2.0));
      out.score_bias = -r1 * torch::where(distance > 0, powered, torch::zeros_like(powered));
    } else {
      out.score_bias = -r1 * torch::log1p(r2.clamp_min(kKerpleMin) * distance);
    }
    return out;
  }

 private:
  bool power_ = false;
  torch::Tensor r1_, r2_;
};

}  // namespace

PositionScheme kerple_position_module(const PositionOptions& options) {
  return wrap_scheme<KerpleImpl>(options);
}

#endif

}  // namespace qkv
