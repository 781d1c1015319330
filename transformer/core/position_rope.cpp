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

const Choices<int64_t>& rope_scaling_names() {
  static const Choices<int64_t> names{{"none", kRopeUnscaled}, {"linear", kRopeLinear}, {"ntk", kRopeNtk},
                                      {"dynamic", kRopeDynamic}, {"yarn", kRopeYarn}};
  return names;
}

const PositionSchemeSpec& rope_position_spec() {
  static const PositionSchemeSpec spec{
      "rope", "q and k rotated by position-dependent angles (Su et al. 2021)",
      {{"base", 10000.0, 2, 1e9, /*integer=*/false, "rope: frequency base"},
       {"fraction", 1.0, 0.0, 1.0, /*integer=*/false, "rope: fraction of each head's dims rotated"},
       {"scaling", 0, 0, 4, /*integer=*/true,
        "rope: context extension: none|linear (position interpolation, Chen et al. 2023)|ntk (base "
        "scaled by s^(R/(R-2)))|dynamic (ntk with s = max(1, length/original_len) at each length)|yarn "
        "(per-frequency ramp and attention temperature 0.1 ln s + 1, Peng et al. 2024)",
        &rope_scaling_names()},
       {"scale", 1.0, 1.0, 1e6, /*integer=*/false, "rope: extension factor s (linear, ntk, yarn), e.g. new length / original_len"},
       {"original_len", 0, 0, 1e9, /*integer=*/true, "rope: the length the model was trained at (dynamic, yarn)"},
       {"yarn_alpha", 1.0, 0.0, 1e6, /*integer=*/false, "rope: yarn ramp start: dims turning fewer than alpha times in original_len are interpolated"},
       {"yarn_beta", 32.0, 0.0, 1e6, /*integer=*/false, "rope: yarn ramp end: dims turning more than beta times are kept"},
       {"nope_every", 0, 0, 1e6, /*integer=*/true, "rope: every Nth layer (N, 2N, ...) uses no position at all; 0: none"}},
      kRotatesQueryKey, /*relative=*/true, /*bounded_by_max_len=*/false,
      [](const PositionConfig& p, int64_t head_dim) -> PositionProblem {
        const int64_t rotated = int64_t(double(head_dim) * p.value("fraction")) / 2 * 2;
        if (rotated < 2) return {"fraction", fmt::format("rotates {} of the {} dims of each head; at least 2 are needed", rotated, head_dim)};
        const int64_t scaling = p.integer("scaling");
        if ((scaling == kRopeDynamic || scaling == kRopeYarn) && p.integer("original_len") < 1)
          return {"original_len", fmt::format("scaling {} needs the length the model was trained at, e.g. 128",
                                              choice_name(rope_scaling_names(), scaling))};
        if (scaling == kRopeNtk && rotated < 4) return {"scaling", "ntk needs at least 4 rotated dims"};
        if (scaling == kRopeYarn && p.value("yarn_beta") <= p.value("yarn_alpha"))
          return {"yarn_beta", fmt::format("must exceed yarn_alpha ({})", p.value("yarn_alpha"))};
        return {};
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

torch::Tensor rope_frequencies(double base, int64_t half, RopeScaling scaling, double s, int64_t original_len,
                               double alpha, double beta) {
  const double rotated = double(2 * half);
  // NTK-aware: the base grows so that the lowest frequency is interpolated by s and the highest
  // is kept (bloc97 2023; the form HF's dynamic scaling uses).
  if (scaling == kRopeNtk || scaling == kRopeDynamic) base *= std::pow(s, rotated / (rotated - 2.0));
  // theta_i = base^(-2i/R), i in [0, R/2)
  auto theta = torch::pow(base, torch::arange(0, half, torch::kFloat64) * (-2.0 / rotated));
  if (scaling == kRopeLinear) return theta / s;  // positions m read as m / s
  if (scaling != kRopeYarn) return theta;
  // YaRN: r_i = original_len / lambda_i full turns of dim i over the training length, with
  // wavelength lambda_i = 2 pi / theta_i; gamma ramps from 0 (r < alpha: interpolate by s) to 1
  // (r > beta: keep), and theta'_i = (1 - gamma) theta_i / s + gamma theta_i.
  auto turns = double(original_len) * theta / (2.0 * M_PI);
  auto gamma = ((turns - alpha) / (beta - alpha)).clamp(0.0, 1.0);
  return (1.0 - gamma) * theta / s + gamma * theta;
}

double yarn_magnitude(double s) { return s > 1.0 ? 0.1 * std::log(s) + 1.0 : 1.0; }

namespace {

class RopeImpl : public PositionSchemeImpl {
 public:
  explicit RopeImpl(const PositionOptions& options) : PositionSchemeImpl(options) {
    const int64_t head_dim = options.d_model / options.heads;
    half_ = std::max<int64_t>(1, int64_t(head_dim * options.value("fraction")) / 2);
    scaling_ = RopeScaling(options.integer("scaling"));
    original_len_ = options.integer("original_len");
    const double s = scaling_ == kRopeDynamic ? 1.0 : options.value("scale");
    inv_freq_ = rope_frequencies(options.value("base"), half_, scaling_, s, original_len_, options.value("yarn_alpha"),
                                 options.value("yarn_beta"));
    magnitude_ = scaling_ == kRopeYarn ? yarn_magnitude(s) : 1.0;
  }

  PositionSignals signals(int64_t q_len, int64_t q_offset, int64_t k_len, int64_t k_offset,
                          torch::Device device) override {
    PositionSignals out;
    out.rotate_skip_every = options_.integer("nope_every");
    const int64_t rows = std::max(q_offset + q_len, k_offset + k_len);
    const double dynamic_scale = scaling_ == kRopeDynamic ? std::max(1.0, double(k_len) / double(original_len_)) : 1.0;
    if (dynamic_scale > 1.0) {
      // The base of the current length, for every query and key alike.
      auto inv_freq = rope_frequencies(options_.value("base"), half_, kRopeNtk, dynamic_scale, original_len_, 0, 0);
      auto angles = torch::arange(0, rows, torch::kFloat64).unsqueeze(1) * inv_freq.unsqueeze(0);
      auto cos = torch::cos(angles).to(torch::kFloat32).to(device), sin = torch::sin(angles).to(torch::kFloat32).to(device);
      out.cos = cos.narrow(0, q_offset, q_len);
      out.sin = sin.narrow(0, q_offset, q_len);
      out.key_cos = cos.narrow(0, k_offset, k_len);
      out.key_sin = sin.narrow(0, k_offset, k_len);
      out.keys_from_raw = true;
      return out;
    }
    grow(rows, device);
    out.cos = cos_.narrow(0, q_offset, q_len);  // (Tq, R/2)
    out.sin = sin_.narrow(0, q_offset, q_len);
    if (scaling_ == kRopeDynamic) {
      // Below original_len the angles are the base's, but the cache keeps raw keys all the same,
      // so that a later, longer step can rotate them by its own angles.
      out.key_cos = cos_.narrow(0, k_offset, k_len);
      out.key_sin = sin_.narrow(0, k_offset, k_len);
      out.keys_from_raw = true;
    }
    return out;
  }

 private:
  // Cached and grown on demand; the angles are computed in float64 and stored in float32, times
  // yarn's magnitude (q and k both scaled by sqrt(1/t), so the logits by 1/t).
  void grow(int64_t needed, torch::Device device) {
    if (cos_.size(0) >= needed && cos_.device() == device) return;
    const int64_t rows = std::max<int64_t>(needed, 2 * cos_.size(0));
    auto angles = torch::arange(0, rows, torch::kFloat64).unsqueeze(1) * inv_freq_.unsqueeze(0);  // (T, R/2)
    cos_ = (torch::cos(angles) * magnitude_).to(torch::kFloat32).to(device);
    sin_ = (torch::sin(angles) * magnitude_).to(torch::kFloat32).to(device);
  }

  int64_t half_ = 0;
  RopeScaling scaling_ = kRopeUnscaled;
  int64_t original_len_ = 0;
  double magnitude_ = 1.0;
  torch::Tensor inv_freq_;
  torch::Tensor cos_ = torch::empty({0, 0}), sin_ = torch::empty({0, 0});
};

}  // namespace

PositionScheme rope_position_module(const PositionOptions& options) {
  return wrap_scheme<RopeImpl>(options);
}

#endif

}  // namespace qkv
