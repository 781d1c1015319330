// Learned absolute positions (as in GPT-2 and BERT): a (max_len, C) table added to the embeddings.
#include "transformer/config/position_scheme.h"
#ifndef QKV_POSITION_DESCRIPTORS
#include <stdexcept>
#include <fmt/format.h>
#include "transformer/core/position.h"
#endif

namespace qkv {

#ifdef QKV_POSITION_DESCRIPTORS

const PositionSchemeSpec& learned_position_spec() {
  static const PositionSchemeSpec spec{"learned", "a learned (max_len, C) table added to the embeddings (GPT-2, BERT)",
                                       {}, kAddsToEmbeddings, /*relative=*/false, /*bounded_by_max_len=*/true, nullptr};
  return spec;
}

#else

namespace {

class LearnedImpl : public PositionSchemeImpl {
 public:
  explicit LearnedImpl(const PositionOptions& options) : PositionSchemeImpl(options) {
    table_ = register_module("table", torch::nn::Embedding(options.max_len, options.d_model));
  }

  torch::Tensor embed(torch::Tensor x, int64_t offset) override {
    const int64_t len = x.size(1);
    if (offset + len > options_.max_len) {
      throw std::out_of_range(fmt::format(
          "learned positions cover {} positions (model.max_len); asked for position {}",
          options_.max_len, offset + len - 1));
    }
    auto positions = torch::arange(offset, offset + len, torch::dtype(torch::kLong).device(x.device()));
    return x + table_->forward(positions).to(x.dtype());  // (B, T, C) + (T, C)
  }

  int64_t max_positions() const override { return options_.max_len; }

 private:
  torch::nn::Embedding table_{nullptr};
};

}  // namespace

PositionScheme learned_position_module(const PositionOptions& options) {
  return wrap_scheme<LearnedImpl>(options);
}

#endif

}  // namespace qkv
