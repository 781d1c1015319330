// Sinusoidal absolute positions (Vaswani et al. 2017, section 3.5), added to the embeddings.
#include "transformer/config/position_scheme.h"
#ifndef QKV_POSITION_DESCRIPTORS
#include <cmath>
#include "transformer/core/position.h"
#endif

namespace qkv {

#ifdef QKV_POSITION_DESCRIPTORS

const PositionSchemeSpec& sinusoidal_position_spec() {
  static const PositionSchemeSpec spec{"sinusoidal", "fixed sines and cosines added to the embeddings (Vaswani et al. 2017, 3.5)",
                                       {}, kAddsToEmbeddings, /*relative=*/false, /*bounded_by_max_len=*/false, nullptr};
  return spec;
}

#else

torch::Tensor sinusoidal_table(int64_t offset, int64_t len, int64_t dim) {
  // PE(pos, 2i) = sin(pos / 10000^(2i/d)), PE(pos, 2i+1) = cos(pos / 10000^(2i/d)).
  auto pos = torch::arange(offset, offset + len, torch::kFloat64).unsqueeze(1);    // (T, 1)
  auto two_i = torch::arange(0, dim, 2, torch::kFloat64);                          // (ceil(C/2))
  auto angle = pos * torch::exp(two_i * (-std::log(10000.0) / double(dim)));       // (T, ceil(C/2))
  auto table = torch::zeros({len, dim}, torch::kFloat64);
  table.index_put_({torch::indexing::Slice(), torch::indexing::Slice(0, dim, 2)}, torch::sin(angle));
  table.index_put_({torch::indexing::Slice(), torch::indexing::Slice(1, dim, 2)},
                   torch::cos(angle).narrow(1, 0, dim / 2));
  return table.to(torch::kFloat32);
}

namespace {

class SinusoidalImpl : public PositionSchemeImpl {
 public:
  explicit SinusoidalImpl(const PositionOptions& options) : PositionSchemeImpl(options) {}

  torch::Tensor embed(torch::Tensor x, int64_t offset) override {
    const int64_t len = x.size(1);
    if (table_.size(0) < offset + len || table_.device() != x.device()) {
      // Grown on demand, so evaluation past the training length needs no configuration.
      int64_t rows = std::max<int64_t>(offset + len, 2 * table_.size(0));
      table_ = sinusoidal_table(0, rows, options_.d_model).to(x.device());
    }
    return x + table_.narrow(0, offset, len).to(x.dtype());  // (B, T, C) + (T, C)
  }

 private:
  torch::Tensor table_ = torch::empty({0, 0});
};

}  // namespace

PositionScheme sinusoidal_position_module(const PositionOptions& options) {
  return wrap_scheme<SinusoidalImpl>(options);
}

#endif

}  // namespace qkv
