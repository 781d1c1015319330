// Rotary position embedding (Su et al. 2021): q and k rotated by position-dependent angles before
// the dot product, in the rotate-half layout over the first R = fraction * Dh dims of each head.
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "transformer/core/position.h"

namespace qkv {

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

// One pass over x (..., T, Dh) whose last dim is contiguous (the heads split off the fused
// projection are such a view): each row rotated in float (double for double) by its position's
// angles, sign -1 for the inverse rotation, written to a contiguous tensor.
torch::Tensor rotate_rows(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin, float sign) {
  const auto in = x.stride(-1) == 1 ? x : x.contiguous();
  const auto c = cos.to(torch::kFloat32).contiguous(), s = sin.to(torch::kFloat32).contiguous();
  auto out = torch::empty(in.sizes(), in.options());
  const int64_t dims = in.dim(), head_dim = in.size(-1), half = c.size(-1), len = in.size(-2);
  const int64_t rows = in.numel() / std::max<int64_t>(head_dim, 1);
  const auto sizes = in.sizes().vec(), strides = in.strides().vec();  // read once, not per row
  const float* cp = c.data_ptr<float>();
  const float* sp = s.data_ptr<float>();
  AT_DISPATCH_FLOATING_TYPES_AND(at::ScalarType::BFloat16, in.scalar_type(), "rotary", [&] {
    using acc_t = std::conditional_t<std::is_same<scalar_t, double>::value, double, float>;
    const scalar_t* src = in.data_ptr<scalar_t>();
    scalar_t* dst = out.data_ptr<scalar_t>();
    at::parallel_for(0, rows, 64, [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        int64_t offset = 0;  // of row r in `in`: its index over the leading dims, by their strides
        for (int64_t d = dims - 2, rest = r; d >= 0; --d) {
          offset += (rest % sizes[d]) * strides[d];
          rest /= sizes[d];
        }
        const scalar_t* xr = src + offset;
        scalar_t* o = dst + r * head_dim;
        const float* cr = cp + (r % len) * half;
        const float* sr = sp + (r % len) * half;
        for (int64_t i = 0; i < half; ++i) {
          const acc_t x1 = acc_t(xr[i]), x2 = acc_t(xr[half + i]), ci = acc_t(cr[i]), si = acc_t(sign * sr[i]);
          o[i] = scalar_t(x1 * ci - x2 * si);
          o[half + i] = scalar_t(x2 * ci + x1 * si);
        }
        for (int64_t i = 2 * half; i < head_dim; ++i) o[i] = xr[i];
      }
    });
  });
  return out;
}

// The rotation as one autograd node on the CPU; its gradient is the inverse rotation.
class Rotary : public torch::autograd::Function<Rotary> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& cos, const torch::Tensor& sin) {
    ctx->saved_data["cos"] = cos;
    ctx->saved_data["sin"] = sin;
    return rotate_rows(x, cos, sin, 1.0f);
  }
  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    const auto cos = ctx->saved_data["cos"].toTensor(), sin = ctx->saved_data["sin"].toTensor();
    return {rotate_rows(grads[0], cos, sin, -1.0f), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor apply_rotary(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin) {
  const auto type = x.scalar_type();
  const bool rows = x.device().is_cpu() && x.dim() >= 2 && x.numel() > 0 &&
                    (type == torch::kFloat32 || type == torch::kFloat64 || type == torch::kBFloat16) &&
                    !cos.requires_grad() && !sin.requires_grad();
  return rows ? Rotary::apply(x, cos, sin) : rotate_by_ops(x, cos, sin);
}

namespace {

class RopeImpl : public PositionSchemeImpl {
 public:
  explicit RopeImpl(const PositionOptions& options) : PositionSchemeImpl(options) {
    const int64_t head_dim = options.d_model / options.heads;
    half_ = std::max<int64_t>(1, int64_t(head_dim * options.fraction) / 2);
    // theta_i = base^(-2i/R), i in [0, R/2)
    inv_freq_ = torch::pow(options.base, torch::arange(0, half_, torch::kFloat64) * (-2.0 / double(2 * half_)));
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

PositionScheme make_rope_scheme(const PositionOptions& options) {
  return wrap_scheme<RopeImpl>(options);
}

}  // namespace qkv
