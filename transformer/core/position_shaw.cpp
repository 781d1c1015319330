// Shaw et al. 2018 relative position representations: learned key and value vectors per clipped
// distance clip(j - i, -k, k), one pair of (2k+1, Dh) tables per layer, shared by the heads
// (section 3.1). The attention core applies them without a (Tq, Tk, Dh) tensor.
#include "transformer/core/position.h"

namespace qkv {

namespace {

class ShawImpl : public PositionSchemeImpl {
 public:
  explicit ShawImpl(const PositionOptions& options) : PositionSchemeImpl(options) {
    const int64_t distances = 2 * options.clip + 1;
    const int64_t head_dim = options.d_model / options.heads;
    for (int64_t layer = 0; layer < options.layers; ++layer) {
      keys_.push_back(register_parameter("keys_" + std::to_string(layer),
                                         torch::randn({distances, head_dim}) * 0.02));
      values_.push_back(register_parameter("values_" + std::to_string(layer),
                                           torch::randn({distances, head_dim}) * 0.02));
    }
  }

  PositionSignals signals(int64_t q_len, int64_t q_offset, int64_t k_len, int64_t k_offset,
                          torch::Device device) override {
    PositionSignals out;
    auto i = torch::arange(q_offset, q_offset + q_len, torch::dtype(torch::kLong).device(device));
    auto j = torch::arange(k_offset, k_offset + k_len, torch::dtype(torch::kLong).device(device));
    auto distance = j.unsqueeze(0) - i.unsqueeze(1);                                  // (Tq, Tk)
    out.rel_index = distance.clamp(-options_.clip, options_.clip) + options_.clip;    // (Tq, Tk)
    out.rel_keys = keys_;
    out.rel_values = values_;
    out.rel_clip = options_.clip;
    out.rel_shift = k_offset - q_offset;
    return out;
  }

 private:
  std::vector<torch::Tensor> keys_, values_;
};

}  // namespace

PositionScheme make_shaw_scheme(const PositionOptions& options) {
  return wrap_scheme<ShawImpl>(options);
}

}  // namespace qkv
