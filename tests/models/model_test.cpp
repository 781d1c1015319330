// Model families: gradients reach every parameter, heads have the right shapes, the options
// change what they say, and parameter counts match a count done by hand.
#include <catch2/catch.hpp>

#include "helpers.h"
#include "transformer/analysis/estimates.h"

using namespace qkv;

namespace {

torch::Tensor family_loss(Model& model, Family family) {
  auto tokens = torch::randint(4, 50, {2, 10});
  auto keep = torch::ones({2, 10}, torch::kBool);
  keep[1].narrow(0, 7, 3).fill_(false);
  torch::Tensor hidden;
  if (family == Family::kSeq2Seq) {
    DecodeState state;
    state.incremental = false;
    model->encode(torch::randint(4, 50, {2, 6}), {}, &state);
    hidden = model->hidden(tokens, keep, {}, &state);
  } else {
    auto segments = torch::cat({torch::zeros({2, 5}, torch::kLong), torch::ones({2, 5}, torch::kLong)}, 1);
    hidden = model->hidden(tokens, keep, family == Family::kBert ? segments : torch::Tensor());
  }
  auto logits = model->token_logits(hidden);  // (B, T, V)
  auto loss = torch::nn::functional::cross_entropy(logits.reshape({-1, logits.size(-1)}), tokens.reshape({-1}));
  return loss + model->class_logits(hidden, keep).pow(2).mean();
}

}  // namespace

TEST_CASE("gradients reach every parameter of every family and scheme", "[models]") {
  const auto family = GENERATE(Family::kGpt, Family::kBert, Family::kSeq2Seq);
  const auto kind = GENERATE(from_range(test::all_schemes()));
  CAPTURE(choice_name(family_choices(), family), kind);
  auto config = test::small_config(family, kind);
  config.num_classes = 3;
  torch::manual_seed(5);
  auto model = make_model(config, 50);
  model->train();
  family_loss(model, family).backward();
  for (const auto& p : model->named_parameters()) {
    CAPTURE(p.key());
    REQUIRE(p.value().grad().defined());
    CHECK(p.value().grad().abs().sum().item<double>() > 0);
  }
}

TEST_CASE("model options: norms, activations, tying and placement", "[models]") {
  auto config = test::small_config(Family::kGpt, "rope");
  const auto variant = GENERATE(range(0, 5));
  CAPTURE(variant);
  switch (variant) {
    case 0: config.pre_norm = false; break;
    case 1: config.norm_type = NormKind::kRmsNorm; break;
    case 2: config.activation = Activation::kSwiglu; break;
    case 3: config.tie_embeddings = false; config.bias = false; break;
    case 4: config.activation = Activation::kRelu; config.init = InitScheme::kXavier; config.scale_embeddings = true; break;
  }
  config.num_classes = 2;
  torch::manual_seed(1);
  auto model = make_model(config, 50);
  auto names = model->named_parameters().keys();
  auto has = [&](const std::string& part) {
    return std::any_of(names.begin(), names.end(), [&](const std::string& n) { return n.find(part) != std::string::npos; });
  };
  CHECK(has("final_norm") == config.pre_norm);
  CHECK(has("ff.gate") == (config.activation == Activation::kSwiglu));
  CHECK(has("lm_head") == !config.tie_embeddings);
  CHECK(has("self_norm.bias") == (config.norm_type == NormKind::kLayerNorm && config.bias));
  family_loss(model, Family::kGpt).backward();
  for (const auto& p : model->named_parameters()) CHECK(p.value().grad().defined());
}

TEST_CASE("parameter count matches a count by hand", "[models]") {
  // GPT, LayerNorm with bias, GELU, tied embeddings, no position parameters (rope).
  auto config = test::small_config(Family::kGpt, "rope");
  const int64_t C = 32, F = 64, V = 50, L = 2;
  auto model = make_model(config, V);
  const int64_t attention = (3 * C * C + 3 * C) + (C * C + C);
  const int64_t feed_forward = (C * F + F) + (F * C + C);
  const int64_t norms = 2 * (2 * C);
  const int64_t expected = V * C + L * (attention + feed_forward + norms) + 2 * C;
  const auto count = count_parameters(model);
  CHECK(count.total == expected);
  CHECK(count.non_embedding == expected - V * C);
}

TEST_CASE("classification pools the first token for encoders and the last real token for decoders", "[models]") {
  for (auto family : {Family::kBert, Family::kGpt}) {
    auto config = test::small_config(family, "sinusoidal");
    config.num_classes = 4;
    auto model = make_model(config, 50);
    model->eval();
    auto hidden = torch::randn({2, 6, 32});
    auto keep = torch::ones({2, 6}, torch::kBool);
    keep[1].narrow(0, 3, 3).fill_(false);
    auto logits = model->class_logits(hidden, keep);
    REQUIRE(logits.sizes() == torch::IntArrayRef({2, 4}));
    // Changing a position the pooling does not read leaves the logits alone.
    auto changed = hidden.clone();
    if (family == Family::kBert) {
      changed.narrow(1, 1, 5).normal_();
    } else {
      changed[0].narrow(0, 0, 5).normal_();
      changed[1].narrow(0, 0, 2).normal_();
      changed[1].narrow(0, 3, 3).normal_();
    }
    CHECK(torch::allclose(logits, model->class_logits(changed, keep)));
  }
}

TEST_CASE("model.pool: mean averages the real tokens and ignores padding; first and last override the family", "[models]") {
  for (auto family : {Family::kBert, Family::kGpt}) {
    auto hidden = torch::randn({2, 6, 32});
    auto keep = torch::ones({2, 6}, torch::kBool);
    keep[1].narrow(0, 4, 2).fill_(false);  // the second row has 4 real tokens
    auto config = test::small_config(family, "sinusoidal");
    config.num_classes = 3;
    config.pool = Pooling::kMean;
    auto model = make_model(config, 50);
    auto mean = model->pool(hidden, keep);
    REQUIRE(mean.sizes() == torch::IntArrayRef({2, 32}));
    CHECK(torch::allclose(mean[0], hidden[0].mean(0), 1e-6, 1e-6));
    CHECK(torch::allclose(mean[1], hidden[1].narrow(0, 0, 4).mean(0), 1e-6, 1e-6));
    auto padded = hidden.clone();
    padded[1].narrow(0, 4, 2).fill_(1e6);  // what padding holds does not matter
    CHECK(torch::allclose(model->pool(padded, keep), mean));
    CHECK_FALSE(torch::allclose(mean[1], hidden[1].mean(0), 1e-3, 1e-3));

    config.pool = Pooling::kFirst;
    CHECK(torch::equal(make_model(config, 50)->pool(hidden, keep), hidden.select(1, 0)));
    config.pool = Pooling::kLast;
    auto last = make_model(config, 50)->pool(hidden, keep);
    CHECK(torch::equal(last[0], hidden[0][5]));
    CHECK(torch::equal(last[1], hidden[1][3]));
  }
}

TEST_CASE("models that differ in their position scheme start with equal shared parameters", "[models]") {
  auto rope = make_model(test::small_config(Family::kGpt, "rope"), 50, 3);
  auto t5 = make_model(test::small_config(Family::kGpt, "t5"), 50, 3);
  auto learned = make_model(test::small_config(Family::kGpt, "learned"), 50, 3);
  auto other_seed = make_model(test::small_config(Family::kGpt, "rope"), 50, 4);
  auto t5_params = t5->named_parameters(), learned_params = learned->named_parameters();
  auto other = other_seed->named_parameters();
  int64_t compared = 0;
  for (const auto& p : rope->named_parameters()) {
    CAPTURE(p.key());
    CHECK(torch::equal(p.value(), t5_params[p.key()]));
    CHECK(torch::equal(p.value(), learned_params[p.key()]));
    if (p.value().dim() >= 2) CHECK_FALSE(torch::equal(p.value(), other[p.key()]));
    ++compared;
  }
  CHECK(compared > 10);
  // Each weight has its own stream: two same-shaped matrices are not copies of each other.
  CHECK_FALSE(torch::equal(rope->named_parameters()["decoder.block_0.self_attn.out.weight"],
                           rope->named_parameters()["decoder.block_1.self_attn.out.weight"]));
}

TEST_CASE("initialisation: GPT-2 scales residual projections, Xavier bounds by fan", "[models]") {
  auto config = test::small_config(Family::kGpt, "rope");  // 2 layers, C 32, F 64
  config.d_model = 128;
  config.d_ff = 256;
  auto gpt2 = make_model(config, 50, 1);
  auto p = gpt2->named_parameters();
  CHECK(p["decoder.block_0.self_attn.qkv.weight"].std().item<double>() == Approx(0.02).epsilon(0.05));
  CHECK(p["decoder.block_0.self_attn.out.weight"].std().item<double>() == Approx(0.02 / 2.0).epsilon(0.05));
  CHECK(p["decoder.block_1.ff.down.weight"].std().item<double>() == Approx(0.02 / 2.0).epsilon(0.05));
  config.init = InitScheme::kXavier;
  auto xavier = make_model(config, 50, 1);
  auto up = xavier->named_parameters()["decoder.block_0.ff.up.weight"];  // (256, 128)
  const double bound = std::sqrt(6.0 / (128 + 256));
  CHECK(up.abs().max().item<double>() <= bound);
  CHECK(up.abs().max().item<double>() > 0.95 * bound);
}
