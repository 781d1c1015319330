// FIRE (Li et al. 2024, functional interpolation for relative positions): the bias of query i and
// key j is a learned MLP f of the log-transformed distance normalised by the query's position,
// f(psi(i - j) / psi(max(L, i))) with psi(x) = log(c x + 1), c and the threshold L learned; one
// output per head, added to the logits and shared by the layers of a stack (as t5's table).
// Decoders use the paper's form. Encoders, which the paper leaves out, read the signed distance
// sign(i - j) psi(|i - j|) normalised by psi(max(L, i, j)).
#include "transformer/config/position_scheme.h"
#ifndef QKV_POSITION_DESCRIPTORS
#include "transformer/core/position.h"
#endif

namespace qkv {

#ifdef QKV_POSITION_DESCRIPTORS

const PositionSchemeSpec& fire_position_spec() {
  static const PositionSchemeSpec spec{
      "fire", "a learned MLP of the log distance normalised by the query position, per head (Li et al. 2024)",
      {{"fire_hidden", 32, 1, 4096, /*integer=*/true, "fire: width of the MLP's hidden layer"},
       {"fire_threshold", 512, 1, 1e9, /*integer=*/false, "fire: initial L, below which positions normalise by L"}},
      kBiasesScores, /*relative=*/false, /*bounded_by_max_len=*/false, nullptr};
  return spec;
}

#else

namespace {

class FireImpl : public PositionSchemeImpl {
 public:
  explicit FireImpl(const PositionOptions& options) : PositionSchemeImpl(options) {
    const int64_t hidden = options.integer("fire_hidden");
    hidden_ = register_module("hidden", torch::nn::Linear(1, hidden));
    out_ = register_module("out", torch::nn::Linear(hidden, options.heads));
    c_ = register_parameter("c", torch::ones({1}));
    threshold_ = register_parameter("threshold", torch::full({1}, options.value("fire_threshold")));
  }

  PositionSignals signals(int64_t q_len, int64_t q_offset, int64_t k_len, int64_t k_offset,
                          torch::Device device) override {
    auto i = torch::arange(q_offset, q_offset + q_len, torch::dtype(torch::kFloat32).device(device)).unsqueeze(1);  // (Tq, 1)
    auto j = torch::arange(k_offset, k_offset + k_len, torch::dtype(torch::kFloat32).device(device)).unsqueeze(0);  // (1, Tk)
    auto c = c_.to(device).clamp_min(1e-3);
    auto psi = [&](const torch::Tensor& x) { return torch::log1p(c * x); };
    auto threshold = threshold_.to(device).clamp_min(1.0);
    torch::Tensor input;  // (Tq, Tk)
    if (options_.causal) {
      input = psi((i - j).clamp_min(0.0)) / psi(torch::maximum(threshold, i));
    } else {
      auto reach = torch::maximum(threshold, torch::maximum(i, j));
      input = torch::sign(i - j) * psi((i - j).abs()) / psi(reach);
    }
    auto bias = out_->forward(torch::relu(hidden_->forward(input.unsqueeze(-1))));  // (Tq, Tk, H)
    PositionSignals out;
    out.score_bias = bias.permute({2, 0, 1}).unsqueeze(0).to(torch::kFloat32);  // (1, H, Tq, Tk)
    return out;
  }

 private:
  torch::nn::Linear hidden_{nullptr}, out_{nullptr};
  torch::Tensor c_, threshold_;
};

}  // namespace

PositionScheme fire_position_module(const PositionOptions& options) {
  return wrap_scheme<FireImpl>(options);
}

#endif

}  // namespace qkv
