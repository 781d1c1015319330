// Per-layer key/value cache for incremental decoding: preallocated, grown by doubling, so a
// decoding step writes one slice instead of concatenating the whole history.
#pragma once

#include <torch/torch.h>

namespace qkv {

struct KVCache {
  torch::Tensor k, v;  // (B, H, capacity, Dh); the first `length` positions are valid
  int64_t length = 0;
  bool frozen = false;  // cross-attention: keys and values of the memory, computed once

  // Appends k_new, v_new (B, H, T, Dh) and returns views of all cached keys and values.
  std::pair<torch::Tensor, torch::Tensor> append(const torch::Tensor& k_new, const torch::Tensor& v_new) {
    const int64_t t = k_new.size(2);
    if (!k.defined() || length + t > k.size(2) || k.dtype() != k_new.dtype()) {
      const int64_t capacity = std::max<int64_t>({length + t, 2 * (k.defined() ? k.size(2) : 0), 16});
      auto grow = [&](const torch::Tensor& old, const torch::Tensor& like) {
        auto fresh = torch::empty({like.size(0), like.size(1), capacity, like.size(3)}, like.options());
        if (length > 0) fresh.narrow(2, 0, length).copy_(old.narrow(2, 0, length));
        return fresh;
      };
      k = grow(k, k_new);
      v = grow(v, v_new);
    }
    k.narrow(2, length, t).copy_(k_new);
    v.narrow(2, length, t).copy_(v_new);
    length += t;
    return {k.narrow(2, 0, length), v.narrow(2, 0, length)};
  }

  // Keeps only the rows `index` of the batch (beam search reordering).
  void select(const torch::Tensor& index) {
    if (!k.defined()) return;
    k = k.index_select(0, index);
    v = v.index_select(0, index);
  }

  void reset() {
    k = torch::Tensor();
    v = torch::Tensor();
    length = 0;
    frozen = false;
  }
};

}  // namespace qkv
