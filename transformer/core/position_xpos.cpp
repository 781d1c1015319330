// xPos (Sun et al. 2023, "A Length-Extrapolatable Transformer"): RoPE whose rotation also scales
// each frequency pair, queries by zeta_i^(n/gamma) and keys by zeta_i^(-m/gamma), so the logit of
// query n and key m carries zeta_i^((n-m)/gamma): an exponential decay with distance that is
// strongest for the fast-turning dims. zeta_i = (2i/R + 0.4) / 1.4 over i in [0, R/2), gamma the
// scale base (512 in the paper). Made for decoders; in an encoder the factor grows for keys after
// the query. Positions are not recentred, so float32 bounds the reach: at gamma = 512 the key
// factor of position 16384 is about 1e17, still finite.
#include "transformer/config/position_scheme.h"
#ifndef QKV_POSITION_DESCRIPTORS
#include <algorithm>
#include <cmath>
#include "transformer/core/position.h"
#endif

namespace qkv {

#ifdef QKV_POSITION_DESCRIPTORS

const PositionSchemeSpec& xpos_position_spec() {
  static const PositionSchemeSpec spec{
      "xpos", "RoPE with a per-frequency exponential decay in the relative distance (Sun et al. 2023)",
      {{"base", 10000.0, 2, 1e9, /*integer=*/false, "rope: frequency base"},
       {"xpos_gamma", 512.0, 1.0, 1e9, /*integer=*/false, "xpos: scale base gamma of zeta^(n/gamma)"}},
      kRotatesQueryKey, /*relative=*/true, /*bounded_by_max_len=*/false, nullptr};
  return spec;
}

#else

namespace {

class XposImpl : public PositionSchemeImpl {
 public:
  explicit XposImpl(const PositionOptions& options) : PositionSchemeImpl(options) {
    half_ = options.d_model / options.heads / 2;
    inv_freq_ = rope_frequencies(options.value("base"), half_, kRopeUnscaled, 1.0, 0, 0, 0);
    zeta_ = (torch::arange(0, half_, torch::kFloat64) * 2.0 / double(2 * half_) + 0.4) / 1.4;  // (R/2)
  }

  PositionSignals signals(int64_t q_len, int64_t q_offset, int64_t k_len, int64_t k_offset,
                          torch::Device device) override {
    grow(std::max(q_offset + q_len, k_offset + k_len), device);
    PositionSignals out;
    out.cos = q_cos_.narrow(0, q_offset, q_len);  // (Tq, R/2)
    out.sin = q_sin_.narrow(0, q_offset, q_len);
    // New keys sit at the query positions (the attention core rotates only those).
    out.key_cos = k_cos_.narrow(0, q_offset, q_len);
    out.key_sin = k_sin_.narrow(0, q_offset, q_len);
    return out;
  }

 private:
  void grow(int64_t needed, torch::Device device) {
    if (q_cos_.size(0) >= needed && q_cos_.device() == device) return;
    const int64_t rows = std::max<int64_t>(needed, 2 * q_cos_.size(0));
    auto positions = torch::arange(0, rows, torch::kFloat64).unsqueeze(1);  // (T, 1)
    auto angles = positions * inv_freq_.unsqueeze(0);                      // (T, R/2)
    auto scale = torch::pow(zeta_.unsqueeze(0), positions / options_.value("xpos_gamma"));
    auto to = [&](const torch::Tensor& t) { return t.to(torch::kFloat32).to(device); };
    q_cos_ = to(torch::cos(angles) * scale);
    q_sin_ = to(torch::sin(angles) * scale);
    k_cos_ = to(torch::cos(angles) / scale);
    k_sin_ = to(torch::sin(angles) / scale);
  }

  int64_t half_ = 0;
  torch::Tensor inv_freq_, zeta_;
  torch::Tensor q_cos_ = torch::empty({0, 0}), q_sin_, k_cos_, k_sin_;
};

}  // namespace

PositionScheme xpos_position_module(const PositionOptions& options) {
  return wrap_scheme<XposImpl>(options);
}

#endif

}  // namespace qkv
