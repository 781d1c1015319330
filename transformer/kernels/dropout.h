// Dropout whose keep mask is a hash of (seed, element index) instead of a stored tensor of
// Bernoulli draws. LibTorch's CPU dropout draws one Bernoulli sample per element from a serial
// Mersenne Twister (without MKL, as in Debian's build): about 14 ms for one (8, 8, 256, 256)
// tensor of attention probabilities on these 2 cores, a fifth of a training step of the PyTorch
// reference (scripts/bench_reference.py). Here the mask is an integer hash of the index, computed
// in parallel with SIMD, multiplied in; the backward rebuilds it from the seed, so none is kept.
// The seed comes from LibTorch's default generator, so torch::manual_seed makes runs repeat.
#pragma once

#include <torch/torch.h>

namespace qkv {

// x scaled by 1 / (1 - p) where kept, 0 where dropped; each element dropped with probability p.
// Returns x unchanged when !training or p == 0. CUDA and float16 tensors use LibTorch's dropout.
torch::Tensor dropout(const torch::Tensor& x, double p, bool training);

// The same with an explicit seed (tests): equal seeds give equal masks.
torch::Tensor dropout_seeded(const torch::Tensor& x, double p, uint64_t seed);

}  // namespace qkv
