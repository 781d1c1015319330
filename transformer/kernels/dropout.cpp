// Counter-hash dropout (see dropout.h).
#include "transformer/kernels/dropout.h"
#include "transformer/kernels/clones.h"
#include "transformer/kernels/row_kernels.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <mutex>

namespace qkv {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

// A 32-bit integer hash (Wellons' "lowbias32"): consecutive inputs give independent-looking
// outputs, which is all a dropout mask needs. Two rounds keyed by the seed, so masks of different
// seeds are not shifted copies of one another.
__attribute__((always_inline)) inline uint32_t mix32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352dU;
  x ^= x >> 15;
  x *= 0x846ca68bU;
  x ^= x >> 16;
  return x;
}

__attribute__((always_inline)) inline bool kept(int64_t i, uint32_t k1, uint32_t k2, uint32_t threshold) {
  return mix32(mix32(uint32_t(i) ^ k1) + k2) >= threshold;
}

// out = m * x with m = `keep` (1 / (1 - p)) where the hash of the element index is at least
// `threshold`, 0 elsewhere: one pass, no mask tensor. The product is the one LibTorch's mul gives
// (0 * inf is NaN, bf16 is multiplied in float32 and rounded to nearest even), so the result is
// bit for bit x * mask. Built for AVX-512, AVX2 and baseline x86-64, chosen when the program loads.
template <typename T>
__attribute__((always_inline)) inline void masked_scale(const T* __restrict in, T* __restrict out, int64_t begin,
                                                        int64_t end, int64_t first, uint32_t k1, uint32_t k2,
                                                        uint32_t threshold, T keep) {
  for (int64_t i = begin; i < end; ++i) out[i] = (kept(i + first, k1, k2, threshold) ? keep : T(0)) * in[i];
}

QKV_CLONES void masked_scale32(const float* __restrict in, float* __restrict out, int64_t begin, int64_t end,
                               int64_t first, uint32_t k1, uint32_t k2, uint32_t threshold, float keep) {
  masked_scale(in, out, begin, end, first, k1, k2, threshold, keep);
}
QKV_CLONES void masked_scale64(const double* __restrict in, double* __restrict out, int64_t begin, int64_t end,
                               int64_t first, uint32_t k1, uint32_t k2, uint32_t threshold, double keep) {
  masked_scale(in, out, begin, end, first, k1, k2, threshold, keep);
}
QKV_CLONES void masked_scale_bf16(const uint16_t* __restrict in, uint16_t* __restrict out, int64_t begin, int64_t end,
                                  int64_t first, uint32_t k1, uint32_t k2, uint32_t threshold, float keep) {
  for (int64_t i = begin; i < end; ++i) {
    out[i] = row_kernels::float_to_bf16((kept(i + first, k1, k2, threshold) ? keep : 0.0f) * row_kernels::bf16_to_float(in[i]));
  }
}

uint64_t mix64(uint64_t z) {  // SplitMix64's finaliser, to spread a seed over two 32-bit keys
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// x times its mask; the mask is rebuilt from (seed, first + index), never stored.
torch::Tensor apply_mask(const torch::Tensor& x, double p, uint64_t seed, int64_t first) {
  const auto in = x.contiguous();
  const auto type = in.scalar_type();
  TORCH_CHECK(type == torch::kFloat32 || type == torch::kFloat64 || type == torch::kBFloat16,
              "dropout: float32, float64 or bfloat16 on the CPU, not ", type);
  auto out = torch::empty_like(in, torch::MemoryFormat::Contiguous);
  const double cut = std::round(p * 4294967296.0);
  const uint32_t threshold = cut >= 4294967295.0 ? 4294967295u : uint32_t(cut);
  // 1 / (1 - p) rounded to x's dtype, as a mask tensor of x's dtype would hold it.
  const double keep = torch::full({1}, 1.0 / (1.0 - p), in.options()).item<double>();
  const uint64_t key = mix64(seed);
  const auto k1 = uint32_t(key), k2 = uint32_t(key >> 32);
  at::parallel_for(0, in.numel(), 32768, [&](int64_t begin, int64_t end) {
    switch (type) {
      case torch::kBFloat16:
        masked_scale_bf16(static_cast<const uint16_t*>(in.data_ptr()), static_cast<uint16_t*>(out.data_ptr()), begin,
                          end, first, k1, k2, threshold, float(keep));
        break;
      case torch::kFloat32:
        masked_scale32(in.data_ptr<float>(), out.data_ptr<float>(), begin, end, first, k1, k2, threshold, float(keep));
        break;
      default:
        masked_scale64(in.data_ptr<double>(), out.data_ptr<double>(), begin, end, first, k1, k2, threshold, keep);
    }
  });
  return out;
}

class HashDropout : public torch::autograd::Function<HashDropout> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, double p, int64_t seed, int64_t first) {
    ctx->saved_data["p"] = p;
    ctx->saved_data["seed"] = seed;
    ctx->saved_data["first"] = first;
    return apply_mask(x, p, uint64_t(seed), first);
  }
  static tensor_list backward(AutogradContext* ctx, tensor_list grad_outputs) {
    const double p = ctx->saved_data["p"].toDouble();
    const auto seed = uint64_t(ctx->saved_data["seed"].toInt());
    const int64_t first = ctx->saved_data["first"].toInt();
    return {apply_mask(grad_outputs[0], p, seed, first), torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

bool hashable(const torch::Tensor& x) {
  const auto type = x.scalar_type();
  return x.device().is_cpu() && (type == torch::kFloat32 || type == torch::kFloat64 || type == torch::kBFloat16);
}

// The rows of the step's whole batch the current forward holds (DropoutRows), per thread.
thread_local int64_t t_first_example = 0, t_examples = 0;

// Index in the whole batch of x's element 0: its first row's, at rows-per-example rows an example.
int64_t whole_batch_offset(const torch::Tensor& x) {
  if (t_examples <= 0 || x.dim() == 0 || x.size(0) % t_examples != 0) return 0;
  const int64_t rows_per_example = x.size(0) / t_examples;
  return t_first_example * rows_per_example * (x.numel() / std::max<int64_t>(x.size(0), 1));
}

uint64_t draw_seed() {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return at::check_generator<at::CPUGeneratorImpl>(gen)->random64();
}

}  // namespace

DropoutRows::DropoutRows(int64_t first_example, int64_t examples)
    : previous_first_(t_first_example), previous_examples_(t_examples) {
  t_first_example = first_example;
  t_examples = examples;
}

DropoutRows::~DropoutRows() {
  t_first_example = previous_first_;
  t_examples = previous_examples_;
}

torch::Tensor dropout_seeded(const torch::Tensor& x, double p, uint64_t seed, int64_t first_index) {
  TORCH_CHECK(p >= 0.0 && p <= 1.0, "dropout: probability ", p, " is outside [0, 1]");
  TORCH_CHECK(hashable(x), "dropout_seeded: a float32, float64 or bfloat16 CPU tensor is needed");
  if (p == 0.0) return x;
  if (p == 1.0) return x * 0;
  return HashDropout::apply(x, p, int64_t(seed), first_index);
}

torch::Tensor dropout(const torch::Tensor& x, double p, bool training) {
  if (!training || p == 0.0) return x;
  // Elsewhere LibTorch's own (fused on CUDA; float16); indices past 2^32 would repeat the 32-bit hash.
  if (!hashable(x) || x.numel() >= (int64_t(1) << 32)) {
    return torch::dropout(x, p, true);
  }
  return dropout_seeded(x, p, draw_seed(), whole_batch_offset(x));
}

}  // namespace qkv
