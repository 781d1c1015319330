// Row kernels for Shaw's relative terms (see relative.h).
#include "transformer/kernels/relative_distance.h"

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <type_traits>

namespace qkv {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

// Row i of a (Tq, Tk) grid splits into three runs of columns: distance at most -c (bucket 0),
// the 2c-1 distances in between (one bucket each, in order), and distance at least c (bucket 2c).
struct Runs {
  int64_t low_end, high_begin, first_bucket;  // [0, low_end), [low_end, high_begin), [high_begin, Tk)
};

Runs runs(int64_t i, int64_t k_len, int64_t shift, int64_t clip) {
  const int64_t zero = i - shift;  // the column at distance 0
  if (clip == 0) return {k_len, k_len, 0};  // one bucket: the whole row is the low run
  const int64_t low_end = std::clamp<int64_t>(zero - clip + 1, 0, k_len);
  const int64_t high_begin = std::clamp<int64_t>(zero + clip, low_end, k_len);
  return {low_end, high_begin, low_end - zero + clip};
}

constexpr int64_t kGrain = 16;  // rows per parallel task

torch::Tensor spread_rows(const torch::Tensor& per_distance, int64_t k_len, int64_t shift, int64_t clip) {
  TORCH_CHECK(per_distance.device().is_cpu() && per_distance.dim() == 4 && per_distance.size(3) == 2 * clip + 1,
              "spread_by_distance: expected a CPU (B, H, Tq, 2c+1) tensor");
  const auto x = per_distance.contiguous();
  const int64_t q_len = x.size(2), buckets = x.size(3), rows = x.size(0) * x.size(1) * q_len;
  auto out = torch::empty({x.size(0), x.size(1), q_len, k_len}, x.options());
  AT_DISPATCH_FLOATING_TYPES_AND2(at::ScalarType::BFloat16, at::ScalarType::Half, x.scalar_type(), "spread_by_distance", [&] {
    const scalar_t* src = x.data_ptr<scalar_t>();
    scalar_t* dst = out.data_ptr<scalar_t>();
    at::parallel_for(0, rows, kGrain, [&](int64_t begin, int64_t end) {
      for (int64_t row = begin; row < end; ++row) {
        const scalar_t* in = src + row * buckets;
        scalar_t* o = dst + row * k_len;
        const Runs r = runs(row % q_len, k_len, shift, clip);
        std::fill(o, o + r.low_end, in[0]);
        std::copy(in + r.first_bucket, in + r.first_bucket + (r.high_begin - r.low_end), o + r.low_end);
        std::fill(o + r.high_begin, o + k_len, in[buckets - 1]);
      }
    });
  });
  return out;
}

torch::Tensor collect_rows(const torch::Tensor& per_pair, int64_t shift, int64_t clip) {
  TORCH_CHECK(per_pair.device().is_cpu() && per_pair.dim() == 4, "collect_by_distance: expected a CPU (B, H, Tq, Tk) tensor");
  const auto x = per_pair.contiguous();
  const int64_t q_len = x.size(2), k_len = x.size(3), buckets = 2 * clip + 1, rows = x.size(0) * x.size(1) * q_len;
  auto out = torch::zeros({x.size(0), x.size(1), q_len, buckets}, x.options());
  AT_DISPATCH_FLOATING_TYPES_AND2(at::ScalarType::BFloat16, at::ScalarType::Half, x.scalar_type(), "collect_by_distance", [&] {
    using acc_t = std::conditional_t<std::is_same<scalar_t, double>::value, double, float>;
    const scalar_t* src = x.data_ptr<scalar_t>();
    scalar_t* dst = out.data_ptr<scalar_t>();
    at::parallel_for(0, rows, kGrain, [&](int64_t begin, int64_t end) {
      for (int64_t row = begin; row < end; ++row) {
        const scalar_t* in = src + row * k_len;
        scalar_t* o = dst + row * buckets;
        const Runs r = runs(row % q_len, k_len, shift, clip);
        acc_t low = 0, high = 0;
        for (int64_t j = 0; j < r.low_end; ++j) low += acc_t(in[j]);
        for (int64_t j = r.high_begin; j < k_len; ++j) high += acc_t(in[j]);
        std::copy(in + r.low_end, in + r.high_begin, o + r.first_bucket);
        o[0] = scalar_t(acc_t(o[0]) + low);  // with c = 0 both ends are bucket 0
        o[buckets - 1] = scalar_t(acc_t(o[buckets - 1]) + high);
      }
    });
  });
  return out;
}

struct Spread : public torch::autograd::Function<Spread> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& per_distance, int64_t k_len, int64_t shift,
                               int64_t clip) {
    ctx->saved_data["shift"] = shift;
    ctx->saved_data["clip"] = clip;
    return spread_rows(per_distance, k_len, shift, clip);
  }
  static tensor_list backward(AutogradContext* ctx, tensor_list grad) {
    return {collect_rows(grad[0], ctx->saved_data["shift"].toInt(), ctx->saved_data["clip"].toInt()), {}, {}, {}};
  }
};

struct Collect : public torch::autograd::Function<Collect> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& per_pair, int64_t shift, int64_t clip) {
    ctx->saved_data["k_len"] = per_pair.size(3);
    ctx->saved_data["shift"] = shift;
    ctx->saved_data["clip"] = clip;
    return collect_rows(per_pair, shift, clip);
  }
  static tensor_list backward(AutogradContext* ctx, tensor_list grad) {
    return {spread_rows(grad[0], ctx->saved_data["k_len"].toInt(), ctx->saved_data["shift"].toInt(),
                        ctx->saved_data["clip"].toInt()),
            {}, {}};
  }
};

}  // namespace

torch::Tensor spread_by_distance(const torch::Tensor& per_distance, int64_t k_len, int64_t shift, int64_t clip) {
  return Spread::apply(per_distance, k_len, shift, clip);
}

torch::Tensor collect_by_distance(const torch::Tensor& per_pair, int64_t shift, int64_t clip) {
  return Collect::apply(per_pair, shift, clip);
}

}  // namespace qkv
