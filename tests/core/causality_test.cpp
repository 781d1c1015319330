// Properties every position scheme must keep inside whole models: no causal leak, padding does not
// change real tokens, and incremental decoding with the KV cache equals the full forward pass.
#include <catch2/catch.hpp>

#include "helpers.h"

using namespace qkv;

TEST_CASE("no causal leak: later tokens never change earlier outputs", "[core]") {
  const auto kind = GENERATE(from_range(test::all_schemes()));
  CAPTURE(kind);
  auto model = test::small_model(Family::kGpt, kind);
  torch::NoGradGuard no_grad;
  auto tokens = torch::randint(4, 50, {2, 16});
  auto base = model->token_logits(model->hidden(tokens));  // (B, T, V)
  for (int64_t t : {0, 5, 14}) {
    auto changed = tokens.clone();
    changed.narrow(1, t + 1, 16 - t - 1).random_(4, 50);
    auto after = model->token_logits(model->hidden(changed));
    CHECK(torch::equal(base.narrow(1, 0, t + 1), after.narrow(1, 0, t + 1)));
    // The test can fail: the changed positions do move.
    CHECK_FALSE(torch::allclose(base.narrow(1, t + 1, 1), after.narrow(1, t + 1, 1)));
  }
}

TEST_CASE("padding does not change the outputs of real tokens", "[core]") {
  const auto kind = GENERATE(from_range(test::all_schemes()));
  const auto family = GENERATE(Family::kGpt, Family::kBert);
  CAPTURE(kind, family == Family::kGpt ? "gpt" : "bert");
  auto model = test::small_model(family, kind);
  torch::NoGradGuard no_grad;
  auto real = torch::randint(4, 50, {1, 10});
  auto alone = model->hidden(real);  // (1, 10, C)
  auto padded = torch::cat({real, torch::zeros({1, 5}, torch::kLong)}, 1);
  auto keep = torch::cat({torch::ones({1, 10}, torch::kBool), torch::zeros({1, 5}, torch::kBool)}, 1);
  auto with_padding = model->hidden(padded, keep).narrow(1, 0, 10);
  CHECK(torch::allclose(alone, with_padding, 1e-5, 1e-6));
  if (family == Family::kBert) {
    // Without the mask the encoder does see the padding: the mask is what keeps it out.
    auto unmasked = model->hidden(padded).narrow(1, 0, 10);
    CHECK_FALSE(torch::allclose(alone, unmasked, 1e-5, 1e-6));
  }
}

TEST_CASE("incremental decoding with the KV cache equals the full forward pass", "[core]") {
  const auto kind = GENERATE(from_range(test::all_schemes()));
  CAPTURE(kind);
  auto model = test::small_model(Family::kGpt, kind);
  torch::NoGradGuard no_grad;
  auto tokens = torch::randint(4, 50, {2, 20});
  auto full = model->hidden(tokens);  // (B, T, C)
  DecodeState state;
  std::vector<torch::Tensor> pieces;
  // A prompt of 5, then single tokens, then a chunk of 4: every cache path.
  int64_t at = 0;
  for (int64_t len : {5, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 4, 1}) {
    pieces.push_back(model->hidden(tokens.narrow(1, at, len), {}, {}, &state));
    at += len;
  }
  REQUIRE(at == 20);
  CHECK(state.length() == 20);
  CHECK(torch::allclose(full, torch::cat(pieces, 1), 1e-5, 1e-5));
}

TEST_CASE("encoder-decoder: cached decoding with cross-attention equals the full pass", "[core]") {
  const auto kind = GENERATE(as<std::string>{}, "sinusoidal", "t5", "rope", "shaw");
  CAPTURE(kind);
  auto model = test::small_model(Family::kSeq2Seq, kind);
  torch::NoGradGuard no_grad;
  auto source = torch::randint(4, 50, {2, 7});
  auto source_keep = torch::ones({2, 7}, torch::kBool);
  source_keep[0].narrow(0, 5, 2).fill_(false);
  auto target = torch::randint(4, 50, {2, 9});
  DecodeState full_state;
  full_state.incremental = false;
  model->encode(source, source_keep, &full_state);
  auto full = model->hidden(target, {}, {}, &full_state);
  DecodeState state;
  model->encode(source, source_keep, &state);
  std::vector<torch::Tensor> pieces;
  for (int64_t t = 0; t < 9; ++t) pieces.push_back(model->hidden(target.narrow(1, t, 1), {}, {}, &state));
  CHECK(torch::allclose(full, torch::cat(pieces, 1), 1e-5, 1e-5));
}
