// Rotary rotation on the CPU as one autograd node (see rotary.h).
#include "transformer/kernels/rotary.h"

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <type_traits>

namespace qkv {

namespace {

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

bool rotary_kernel_applies(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin) {
  const auto type = x.scalar_type();
  return x.device().is_cpu() && x.dim() >= 2 && x.numel() > 0 &&
         (type == torch::kFloat32 || type == torch::kFloat64 || type == torch::kBFloat16) && !cos.requires_grad() &&
         !sin.requires_grad();
}

torch::Tensor rotary_kernel(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin) {
  return Rotary::apply(x, cos, sin);
}

}  // namespace qkv
