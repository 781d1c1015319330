// The causal softmax on the CPU as one autograd node (see causal_softmax.h).
#include "transformer/kernels/causal_softmax.h"
#include "transformer/kernels/clones.h"
#include "transformer/kernels/row_kernels.h"

#include <ATen/Parallel.h>

#include <vector>

namespace qkv {

namespace {

using namespace row_kernels;

QKV_CLONES void exp_clamped(const float* __restrict x, float* __restrict out, int64_t n, float shift) {
  for (int64_t i = 0; i < n; ++i) out[i] = exp_nonpositive(at_least_minus_100(x[i] - shift));
}

QKV_CLONES void scale_row(float* x, int64_t n, float s) {
  for (int64_t i = 0; i < n; ++i) x[i] *= s;
}

QKV_CLONES void backward_row(const float* __restrict y, const float* __restrict g, float* __restrict out, int64_t n,
                             float d) {
  for (int64_t i = 0; i < n; ++i) out[i] = y[i] * (g[i] - d);
}

// Row r of a contiguous (rows, n) float32 or bf16 tensor, its first `len` elements as float32: a
// pointer into the tensor, or widened into buffer.
const float* read_row(const torch::Tensor& t, int64_t r, int64_t n, int64_t len, float* buffer) {
  if (t.scalar_type() == torch::kFloat32) return t.data_ptr<float>() + r * n;
  widen_bf16(reinterpret_cast<const uint16_t*>(t.data_ptr<at::BFloat16>()) + r * n, buffer, len);
  return buffer;
}

// Writes `len` float32 values into row r of t and zeros after them.
void write_row(torch::Tensor& t, int64_t r, int64_t n, int64_t len, const float* row) {
  if (t.scalar_type() == torch::kFloat32) {
    float* out = t.data_ptr<float>() + r * n;
    if (out != row) std::copy(row, row + len, out);
    std::fill(out + len, out + n, 0.0f);
    return;
  }
  uint16_t* out = reinterpret_cast<uint16_t*>(t.data_ptr<at::BFloat16>()) + r * n;
  narrow_bf16(row, out, len);
  std::fill(out + len, out + n, uint16_t(0));  // bf16 +0
}

// Calls body(r, len, buffers...) for each row of a (rows, T) view of (..., T, T), len = the row's
// kept keys, with three float32 row buffers per thread.
template <class Body>
void for_rows(int64_t rows, int64_t t, const Body& body) {
  at::parallel_for(0, rows, 16, [&](int64_t begin, int64_t end) {
    std::vector<float> a(static_cast<size_t>(t)), b(static_cast<size_t>(t)), c(static_cast<size_t>(t));
    for (int64_t r = begin; r < end; ++r) body(r, r % t + 1, a.data(), b.data(), c.data());
  });
}

torch::Tensor forward_rows(const torch::Tensor& scores) {  // (rows, T) contiguous
  auto y = torch::empty_like(scores);
  const int64_t t = scores.size(1);
  const bool f32 = scores.scalar_type() == torch::kFloat32;
  for_rows(scores.size(0), t, [&](int64_t r, int64_t len, float* in, float* out, float*) {
    const float* x = read_row(scores, r, t, len, in);
    float* e = f32 ? y.data_ptr<float>() + r * t : out;
    const float m = row_max(x, len);
    exp_clamped(x, e, len, m);
    scale_row(e, len, 1.0f / row_sum(e, len));
    write_row(y, r, t, len, e);
  });
  return y;
}

torch::Tensor backward_rows(const torch::Tensor& y, const torch::Tensor& g) {  // (rows, T) each, contiguous
  auto dx = torch::empty_like(y);
  const int64_t t = y.size(1);
  const bool f32 = y.scalar_type() == torch::kFloat32;
  for_rows(y.size(0), t, [&](int64_t r, int64_t len, float* yb, float* gb, float* ob) {
    const float* yr = read_row(y, r, t, len, yb);
    const float* gr = read_row(g, r, t, len, gb);
    float* out = f32 ? dx.data_ptr<float>() + r * t : ob;
    backward_row(yr, gr, out, len, row_dot(gr, yr, len));
    write_row(dx, r, t, len, out);
  });
  return dx;
}

struct CausalSoftmax : torch::autograd::Function<CausalSoftmax> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& scores) {
    const int64_t t = scores.size(-1);
    auto y = forward_rows(scores.contiguous().view({-1, t})).view(scores.sizes());
    ctx->save_for_backward({y});
    return y;
  }
  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    const auto y = ctx->get_saved_variables()[0];
    if (!grads[0].defined()) return {torch::Tensor()};
    const int64_t t = y.size(-1);
    const auto g = grads[0].to(y.scalar_type()).contiguous();
    return {backward_rows(y.view({-1, t}), g.view({-1, t})).view(y.sizes())};
  }
};


}  // namespace

bool causal_softmax_applies(const torch::Tensor& scores) {
  const auto type = scores.scalar_type();
  return scores.device().is_cpu() && (type == torch::kFloat32 || type == torch::kBFloat16) && scores.dim() == 4 &&
         scores.size(-1) == scores.size(-2) && scores.size(-1) > 0;
}

torch::Tensor causal_softmax(const torch::Tensor& scores) { return CausalSoftmax::apply(scores); }

}  // namespace qkv
