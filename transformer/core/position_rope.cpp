// Rotary position embedding (Su et al. 2021): q and k rotated by position-dependent angles before
// the dot product, in the rotate-half layout over the first R = fraction * Dh dims of each head.
#include <fmt/format.h>

#include "transformer/config/position_scheme.h"
#ifndef QKV_POSITION_DESCRIPTORS
#include <algorithm>
#include <cmath>
#include <type_traits>
#include "transformer/kernels/rotary.h"
#include "transformer/core/position.h"
#endif

namespace qkv {

#ifdef QKV_POSITION_DESCRIPTORS

const PositionSchemeSpec& rope_position_spec() {
  static const PositionSchemeSpec spec{
      "rope", "q and k rotated by position-dependent angles (Su et al. 2021)",
      {{"base", 10000.0, 2, 1e9, /*integer=*/false, "rope: frequency base"},
       {"fraction", 1.0, 0.0, 1.0, /*integer=*/false, "rope: fraction of each head's dims rotated"}},
      kRotatesQueryKey, /*relative=*/true, /*bounded_by_max_len=*/false,
      [](const PositionConfig& p, int64_t head_dim) -> PositionProblem {
        const int64_t rotated = int64_t(double(head_dim) * p.value("fraction")) / 2 * 2;
        if (rotated >= 2) return {};
        return {"fraction", fmt::format("rotates {} of the {} dims of each head; at least 2 are needed", rotated, head_dim)};
      }};
  return spec;
}

#else

namespace {

// The rotation op by op, in x's dtype: CUDA, float16, and the reference the tests compare with.
torch::Tensor rotate_by_ops(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin) {
  const int64_t half = cos.size(-1);
  const int64_t head_dim = x.size(-1);
  auto c = cos.to(x.dtype());  // (T, R/2)
  auto s = sin.to(x.dtype());
  auto x1 = x.narrow(-1, 0, half);     // (..., T, R/2)
  auto x2 = x.narrow(-1, half, half);  // (..., T, R/2)
  auto rotated = torch::cat({x1 * c - x2 * s, x2 * c + x1 * s}, -1);  // (..., T, R)
  if (2 * half == head_dim) return rotated;
  return torch::cat({rotated, x.narrow(-1, 2 * half, head_dim - 2 * half)}, -1);
}

}  // namespace

torch::Tensor apply_rotary(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin) {
  return rotary_kernel_applies(x, cos, sin) ? rotary_kernel(x, cos, sin) : rotate_by_ops(x, cos, sin);
}

namespace {

class RopeImpl : public PositionSchemeImpl {
 public:
  explicit RopeImpl(const PositionOptions& options) : PositionSchemeImpl(options) {
    const int64_t head_dim = options.d_model / options.heads;
    half_ = std::max<int64_t>(1, int64_t(head_dim * options.value("fraction")) / 2);
    // theta_i = base^(-2i/R), i in [0, R/2)
    inv_freq_ = torch::pow(options.value("base"), torch::arange(0, half_, torch::kFloat64) * (-2.0 / double(2 * half_)));
  }

  PositionSignals signals(int64_t q_len, int64_t q_offset, int64_t k_len, int64_t k_offset,
                          torch::Device device) override {
    if (cos_.size(0) < q_offset + q_len || cos_.device() != device) {
      // Cached and grown on demand; the angles are computed in float64 and stored in float32.
      const int64_t rows = std::max<int64_t>(q_offset + q_len, 2 * cos_.size(0));
      auto angles = torch::arange(0, rows, torch::kFloat64).unsqueeze(1) * inv_freq_.unsqueeze(0);  // (T, R/2)
      cos_ = torch::cos(angles).to(torch::kFloat32).to(device);
      sin_ = torch::sin(angles).to(torch::kFloat32).to(device);
    }
    PositionSignals out;
    out.cos = cos_.narrow(0, q_offset, q_len);  // (Tq, R/2)
    out.sin = sin_.narrow(0, q_offset, q_len);
    return out;
  }

 private:
  int64_t half_ = 0;
  torch::Tensor inv_freq_;
  torch::Tensor cos_ = torch::empty({0, 0}), sin_ = torch::empty({0, 0});
};

}  // namespace

PositionScheme rope_position_module(const PositionOptions& options) {
  return wrap_scheme<RopeImpl>(options);
}

#endif

}  // namespace qkv
