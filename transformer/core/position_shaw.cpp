// Shaw et al. 2018 relative position representations: learned key and value vectors per clipped
// distance clip(j - i, -k, k), one pair of (2k+1, Dh) tables per layer, shared by the heads
// (section 3.1). The attention core applies them without a (Tq, Tk, Dh) tensor.
#include "transformer/config/position_scheme.h"
#ifndef QKV_POSITION_DESCRIPTORS
#include "transformer/core/position.h"
#endif

namespace qkv {

#ifdef QKV_POSITION_DESCRIPTORS

const PositionSchemeSpec& shaw_position_spec() {
  static const PositionSchemeSpec spec{
      "shaw", "learned key and value vectors per clipped relative distance (Shaw et al. 2018)",
      {{"clip", 16, 1, 4096, /*integer=*/true, "shaw: relative distances clipped to [-clip, clip]"}},
      kBiasesScores | kAddsValueTerm, /*relative=*/true, /*bounded_by_max_len=*/false, nullptr};
  return spec;
}

#else

namespace {

class ShawImpl : public PositionSchemeImpl {
 public:
  explicit ShawImpl(const PositionOptions& options) : PositionSchemeImpl(options) {
    const int64_t distances = 2 * options.integer("clip") + 1;
    const int64_t head_dim = options.d_model / options.heads;
    for (int64_t layer = 0; layer < options.layers; ++layer) {
      keys_.push_back(register_parameter("keys_" + std::to_string(layer), torch::randn({distances, head_dim}) * 0.02));
      values_.push_back(register_parameter("values_" + std::to_string(layer), torch::randn({distances, head_dim}) * 0.02));
    }
  }

  // In a model, each table is drawn again from a generator of its own (see NormalInit).
  void initialise(const std::string& prefix, const NormalInit& normal) override {
    for (size_t layer = 0; layer < keys_.size(); ++layer) {
      normal(prefix + ".keys_" + std::to_string(layer), keys_[layer], 0.02);
      normal(prefix + ".values_" + std::to_string(layer), values_[layer], 0.02);
    }
  }

  PositionSignals signals(int64_t q_len, int64_t q_offset, int64_t k_len, int64_t k_offset,
                          torch::Device device) override {
    const int64_t clip = options_.integer("clip");
    PositionSignals out;
    auto distance = key_minus_query(q_len, q_offset, k_len, k_offset, torch::kLong, device);  // (Tq, Tk)
    out.rel_index = distance.clamp(-clip, clip) + clip;                               // (Tq, Tk)
    out.rel_keys = keys_;
    out.rel_values = values_;
    out.rel_clip = clip;
    out.rel_shift = k_offset - q_offset;
    return out;
  }

 private:
  std::vector<torch::Tensor> keys_, values_;
};

}  // namespace

PositionScheme shaw_position_module(const PositionOptions& options) {
  return wrap_scheme<ShawImpl>(options);
}

#endif

}  // namespace qkv
