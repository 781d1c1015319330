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

// The same with an explicit seed (tests): equal seeds give equal masks. Element i's mask is the
// hash of (seed, first_index + i).
torch::Tensor dropout_seeded(const torch::Tensor& x, double p, uint64_t seed, int64_t first_index = 0);

// While one lives, the tensors dropout() sees hold `examples` examples starting at example
// `first_example` of the training step's whole batch (a micro-batch, or a rank's share): each
// element's mask is then the one the whole batch's tensor would give that element, its index
// taken in the whole batch (x's rows are examples times rows per example, batch-first). A shared
// batch therefore draws the same masks as the whole batch in one process. Per thread.
class DropoutRows {
 public:
  DropoutRows(int64_t first_example, int64_t examples);
  ~DropoutRows();
  DropoutRows(const DropoutRows&) = delete;
  DropoutRows& operator=(const DropoutRows&) = delete;

 private:
  int64_t previous_first_, previous_examples_;
};

}  // namespace qkv
