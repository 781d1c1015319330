// Counter-hash dropout (see dropout.h).
#include "transformer/core/dropout.h"
#include "transformer/core/clones.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>

#include <cmath>
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

// The mask in the tensor's own bit pattern: `keep` (the bits of 1 / (1 - p)) where the hash of
// the element index is at least `threshold`, 0 elsewhere. Integer-only, so the compiler vectorises
// it; built for AVX-512, AVX2 and baseline x86-64, chosen when the program loads.
template <typename Bits>
__attribute__((always_inline)) inline void fill_mask(Bits* out, int64_t begin, int64_t end, uint32_t k1, uint32_t k2,
                                                     uint32_t threshold, Bits keep) {
  for (int64_t i = begin; i < end; ++i) {
    const uint32_t h = mix32(mix32(uint32_t(i) ^ k1) + k2);
    out[i] = h >= threshold ? keep : Bits(0);
  }
}

QKV_CLONES void fill_mask16(uint16_t* out, int64_t begin, int64_t end, uint32_t k1, uint32_t k2, uint32_t threshold,
                            uint16_t keep) {
  fill_mask(out, begin, end, k1, k2, threshold, keep);
}
QKV_CLONES void fill_mask32(uint32_t* out, int64_t begin, int64_t end, uint32_t k1, uint32_t k2, uint32_t threshold,
                            uint32_t keep) {
  fill_mask(out, begin, end, k1, k2, threshold, keep);
}
QKV_CLONES void fill_mask64(uint64_t* out, int64_t begin, int64_t end, uint32_t k1, uint32_t k2, uint32_t threshold,
                            uint64_t keep) {
  fill_mask(out, begin, end, k1, k2, threshold, keep);
}

uint64_t mix64(uint64_t z) {  // SplitMix64's finaliser, to spread a seed over two 32-bit keys
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// x times its mask; the mask is rebuilt from (seed, index), never stored.
torch::Tensor apply_mask(const torch::Tensor& x, double p, uint64_t seed) {
  const auto in = x.contiguous();
  auto mask = torch::empty_like(in, torch::MemoryFormat::Contiguous);
  const double cut = std::round(p * 4294967296.0);
  const uint32_t threshold = cut >= 4294967295.0 ? 4294967295u : uint32_t(cut);
  const auto keep = torch::full({1}, 1.0 / (1.0 - p), in.options());  // 1 / (1 - p) rounded to x's dtype
  const uint64_t key = mix64(seed);
  const auto k1 = uint32_t(key), k2 = uint32_t(key >> 32);
  const int64_t n = in.numel();
  at::parallel_for(0, n, 32768, [&](int64_t begin, int64_t end) {
    switch (in.element_size()) {
      case 2:
        fill_mask16(static_cast<uint16_t*>(mask.data_ptr()), begin, end, k1, k2, threshold,
                    *static_cast<const uint16_t*>(keep.data_ptr()));
        break;
      case 4:
        fill_mask32(static_cast<uint32_t*>(mask.data_ptr()), begin, end, k1, k2, threshold,
                    *static_cast<const uint32_t*>(keep.data_ptr()));
        break;
      default:
        fill_mask64(static_cast<uint64_t*>(mask.data_ptr()), begin, end, k1, k2, threshold,
                    *static_cast<const uint64_t*>(keep.data_ptr()));
    }
  });
  return mask.mul_(in);
}

class HashDropout : public torch::autograd::Function<HashDropout> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, double p, int64_t seed) {
    ctx->saved_data["p"] = p;
    ctx->saved_data["seed"] = seed;
    return apply_mask(x, p, uint64_t(seed));
  }
  static tensor_list backward(AutogradContext* ctx, tensor_list grad_outputs) {
    const double p = ctx->saved_data["p"].toDouble();
    const auto seed = uint64_t(ctx->saved_data["seed"].toInt());
    return {apply_mask(grad_outputs[0], p, seed), torch::Tensor(), torch::Tensor()};
  }
};

uint64_t draw_seed() {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return at::check_generator<at::CPUGeneratorImpl>(gen)->random64();
}

}  // namespace

torch::Tensor dropout_seeded(const torch::Tensor& x, double p, uint64_t seed) {
  TORCH_CHECK(p >= 0.0 && p <= 1.0, "dropout: probability ", p, " is outside [0, 1]");
  TORCH_CHECK(x.device().is_cpu() && x.is_floating_point(), "dropout_seeded: a floating-point CPU tensor is needed");
  if (p == 0.0) return x;
  if (p == 1.0) return x * 0;
  return HashDropout::apply(x, p, int64_t(seed));
}

torch::Tensor dropout(const torch::Tensor& x, double p, bool training) {
  if (!training || p == 0.0) return x;
  // Elsewhere LibTorch's own: fused on CUDA; indices past 2^32 would repeat the 32-bit hash.
  if (!x.device().is_cpu() || !x.is_floating_point() || x.numel() >= (int64_t(1) << 32)) {
    return torch::dropout(x, p, true);
  }
  return dropout_seeded(x, p, draw_seed());
}

}  // namespace qkv
