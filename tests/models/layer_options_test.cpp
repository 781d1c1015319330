// The published layer layouts' options against hand computations: the norm epsilon, GPT-2's
// tanh-approximated GELU, BERT's norm over the embedding sum, the number of segment embeddings,
// and embeddings scaled by sqrt(d_model) (Vaswani et al. 3.4).
#include <catch2/catch.hpp>

#include <cmath>

#include "helpers.h"
#include "transformer/core/feed_forward.h"
#include "transformer/core/norm.h"

using namespace qkv;

namespace {

// LayerNorm of the last dim, written out: (x - mean) / sqrt(var + eps) * g + b, var biased.
torch::Tensor layer_norm_by_hand(const torch::Tensor& x, const torch::Tensor& g, const torch::Tensor& b, double eps) {
  auto x64 = x.to(torch::kFloat64);
  auto mean = x64.mean(-1, true);
  auto var = (x64 - mean).pow(2).mean(-1, true);
  return (x64 - mean) / (var + eps).sqrt() * g.to(torch::kFloat64) + b.to(torch::kFloat64);
}

}  // namespace

TEST_CASE("model.norm_eps reaches every norm: a row of variance 1e-10 normalises as the formula says", "[models]") {
  for (const double eps : {1e-5, 1e-12}) {
    CAPTURE(eps);
    NormOptions o;
    o.dim = 6;
    o.eps = eps;
    Norm norm(o);
    auto x = (torch::tensor({1.0, 2.0, 3.0, 4.0, 5.0, 6.0}) * 1e-5).to(torch::kFloat64).unsqueeze(0);
    norm->to(torch::kFloat64);
    const auto got = norm->forward(x);
    const auto want = layer_norm_by_hand(x, torch::ones({6}), torch::zeros({6}), eps);
    CHECK(torch::allclose(got, want, 1e-9, 1e-12));
  }
  // With 1e-5 the tiny variance is swamped (outputs near 0); with 1e-12 it is a unit row.
  auto config = test::small_config(Family::kBert, "learned");
  config.norm_eps = 1e-12;
  config.embed_norm = true;
  auto model = make_model(config, 50);
  int64_t norms = 0;
  for (const auto& m : model->named_modules()) {
    if (auto* n = m.value()->as<NormImpl>()) {
      ++norms;
      // The options struct is private; a norm's effect on a tiny-variance row tells its epsilon.
      auto x = (torch::arange(1, 33, torch::kFloat32) * 1e-6).unsqueeze(0);
      const double spread = n->forward(x).std().item<double>();
      CAPTURE(m.key(), spread);
      CHECK(spread > 0.9);  // with eps 1e-5 it would be about 0.003
    }
  }
  CHECK(norms == 2 * 2 + 1 + 1 + 1);  // two per block, the final, the embedding and the MLM head's
}

TEST_CASE("activation gelu_tanh is GPT-2's 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))", "[models]") {
  FeedForwardOptions o;
  o.d_model = 5;
  o.d_ff = 5;
  o.activation = Activation::kGeluTanh;
  FeedForward ff(o);
  ff->to(torch::kFloat64);
  {
    torch::NoGradGuard no_grad;  // identity projections: the block is its activation
    for (auto& p : ff->named_parameters()) {
      if (p.key().find("weight") != std::string::npos) p.value().copy_(torch::eye(5, torch::kFloat64));
      else p.value().zero_();
    }
  }
  auto x = torch::tensor({-3.0, -0.5, 0.0, 0.7, 2.5}, torch::kFloat64).unsqueeze(0);
  std::vector<double> want;
  for (double v : {-3.0, -0.5, 0.0, 0.7, 2.5})
    want.push_back(0.5 * v * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (v + 0.044715 * v * v * v))));
  CHECK(torch::allclose(ff->forward(x), torch::tensor(want, torch::kFloat64).unsqueeze(0), 1e-12, 1e-12));
  // and it is not the exact GELU: at 0.7 the two differ by about 1.5e-4
  CHECK(std::abs(want[3] - 0.7 * 0.5 * (1 + std::erf(0.7 / std::sqrt(2.0)))) > 1e-5);
}

TEST_CASE("model.embed_norm normalises token + segment + position embeddings before the first block", "[models]") {
  auto config = test::small_config(Family::kBert, "learned");
  config.embed_norm = true;
  config.norm_eps = 1e-12;
  config.segments = 3;
  auto model = make_model(config, 50, 4);
  model->eval();
  auto params = model->named_parameters();
  REQUIRE(params["segment_embedding.weight"].sizes() == torch::IntArrayRef({3, 32}));
  {
    torch::NoGradGuard no_grad;  // a norm that is not the identity, so the test sees its weights
    params["encoder.embed_norm.weight"].uniform_(0.5, 1.5);
    params["encoder.embed_norm.bias"].uniform_(-0.5, 0.5);
  }
  auto tokens = torch::tensor({{5, 9, 13, 2}});
  auto segments = torch::tensor({{0, 1, 2, 2}});
  const auto sum = params["token_embedding.weight"].index_select(0, tokens[0]) +
                   params["segment_embedding.weight"].index_select(0, segments[0]) +
                   params["encoder.position.table.weight"].narrow(0, 0, 4);  // (T, C)
  const auto want = layer_norm_by_hand(sum, params["encoder.embed_norm.weight"], params["encoder.embed_norm.bias"], 1e-12);
  torch::NoGradGuard no_grad;
  const auto token_and_segment = params["token_embedding.weight"].index_select(0, tokens[0]) +
                                 params["segment_embedding.weight"].index_select(0, segments[0]);
  const auto got = model->encoder()->embed(token_and_segment.unsqueeze(0), 0)[0];
  CHECK(torch::allclose(got.to(torch::kFloat64), want, 1e-5, 1e-5));
  // The whole model reads the three ids (a third segment id is accepted).
  CHECK(model->hidden(tokens, {}, segments).sizes() == torch::IntArrayRef({1, 4, 32}));
}

TEST_CASE("model.scale_embeddings multiplies token embeddings by sqrt(d_model)", "[models]") {
  auto config = test::small_config(Family::kGpt, "none");
  auto plain = make_model(config, 50, 4);
  config.scale_embeddings = true;
  auto scaled = make_model(config, 50, 4);  // the same seed: the same weights
  auto tokens = torch::tensor({{3, 7}});
  torch::NoGradGuard no_grad;
  const auto table = plain->named_parameters()["token_embedding.weight"];
  CHECK(torch::allclose(plain->embed_tokens(tokens)[0], table.index_select(0, tokens[0])));
  CHECK(torch::allclose(scaled->embed_tokens(tokens)[0], table.index_select(0, tokens[0]) * std::sqrt(32.0)));
}
