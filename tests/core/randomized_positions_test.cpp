// Randomized positions (Ruoss et al. 2023) over every scheme: the sample is sorted, distinct and
// spread over the whole range; gathered signals at 0..T-1 are the scheme's own; at sampled
// positions every logit equals the scheme's logit for that one query and key, computed alone;
// and inside models the wrapper keeps causality, draws the same positions for every share of a
// batch, draws the same ones in every evaluation, and leaves cached decoding at 0..T-1. (Padding keeps real tokens apart as ever, but a padded
// batch's short rows take the first of the positions drawn for the batch's length.)
#include <catch2/catch.hpp>

#include <set>

#include "helpers.h"
#include "core/scheme_of.h"
#include "transformer/core/attention.h"

using namespace qkv;

namespace {

bool same(const torch::Tensor& a, const torch::Tensor& b) {
  if (a.defined() != b.defined()) return false;
  return !a.defined() || torch::equal(a, b);
}

// The logit (1, H, 1, 1) of one query at position i and one key at position j, the scheme asked
// for that pair alone: q rotated by the angles of i, k by those of a new key at j.
torch::Tensor pair_logit(PositionScheme& scheme, const torch::Tensor& q, const torch::Tensor& k, int64_t i, int64_t j) {
  return test::logits_with(q, k, scheme->signals(1, i, 1, j, torch::kCPU), scheme->signals(1, j, 1, j, torch::kCPU));
}

Model randomized_model(Family family, const std::string& scheme, int64_t range) {
  torch::manual_seed(7);
  ModelConfig c = test::small_config(family, scheme);
  c.position.set("randomize", double(range));
  return make_model(c, 50, 7);
}

}  // namespace

TEST_CASE("random positions: sorted, distinct, within the range, repeatable, and reaching all of it", "[core]") {
  torch::manual_seed(3);
  auto a = random_positions(10, 40, torch::kCPU);
  torch::manual_seed(3);
  CHECK(torch::equal(a, random_positions(10, 40, torch::kCPU)));
  std::set<int64_t> seen;
  int64_t past_training = 0;
  for (int draw = 0; draw < 300; ++draw) {
    auto p = random_positions(10, 40, torch::kCPU);
    REQUIRE(p.size(0) == 10);
    CHECK((p.narrow(0, 1, 9) > p.narrow(0, 0, 9)).all().item<bool>());
    CHECK(p.min().item<int64_t>() >= 0);
    CHECK(p.max().item<int64_t>() < 40);
    for (int64_t i = 0; i < 10; ++i) seen.insert(p[i].item<int64_t>());
    past_training += p[-1].item<int64_t>() >= 10;
  }
  CHECK(seen.size() == 40);    // every position of the range is trained
  CHECK(past_training > 250);  // and most sequences reach past 0..T-1
  CHECK_THROWS_WITH(random_positions(41, 40, torch::kCPU), Catch::Contains("randomize is 40"));
}

TEST_CASE("gathered at 0..T-1, every scheme's signals and embedding are its own", "[core]") {
  const auto kind = GENERATE(from_range(test::all_schemes()));
  const bool causal = GENERATE(false, true);
  CAPTURE(kind, causal);
  auto scheme = test::scheme_of(kind, causal);
  torch::NoGradGuard g;
  const int64_t len = 12;
  auto positions = torch::arange(len, torch::kLong);
  auto gathered = signals_at(*scheme, positions, torch::kCPU);
  auto own = scheme->signals(len, 0, len, 0, torch::kCPU);
  CHECK(same(gathered.cos, own.cos));
  CHECK(same(gathered.sin, own.sin));
  CHECK(same(gathered.key_cos, own.key_cos));
  CHECK(same(gathered.score_bias, own.score_bias));
  CHECK(same(gathered.rel_index, own.rel_index));
  auto x = torch::randn({2, len, 32});
  CHECK(torch::allclose(embed_at(*scheme, x, positions), scheme->embed(x, 0)));
}

TEST_CASE("at sampled positions every logit equals the scheme's logit for that query and key alone", "[core]") {
  const auto kind = GENERATE(from_range(test::all_schemes()));
  const bool causal = GENERATE(false, true);
  CAPTURE(kind, causal);
  auto scheme = test::scheme_of(kind, causal);
  torch::NoGradGuard g;
  torch::manual_seed(5);
  const int64_t len = 9;
  auto positions = random_positions(len, 60, torch::kCPU);
  CAPTURE(positions);
  auto q = torch::randn({1, 4, len, 8}, torch::kFloat64);
  auto k = torch::randn({1, 4, len, 8}, torch::kFloat64);
  auto signals = signals_at(*scheme, positions, torch::kCPU);
  auto logits = test::logits_with(q, k, signals, signals);  // (1, H, T, T)
  for (int64_t a = 0; a < len; ++a) {
    for (int64_t b = 0; b < len; ++b) {
      auto alone = pair_logit(scheme, q.narrow(2, a, 1), k.narrow(2, b, 1), positions[a].item<int64_t>(),
                              positions[b].item<int64_t>());
      CHECK(torch::allclose(logits.narrow(2, a, 1).narrow(3, b, 1), alone, 1e-4, 1e-4));
    }
  }
  // Absolute schemes: each token gets the row of its own position.
  auto x = torch::randn({1, len, 32});
  auto embedded = embed_at(*scheme, x, positions);
  for (int64_t a = 0; a < len; ++a)
    CHECK(torch::allclose(embedded.narrow(1, a, 1), scheme->embed(x.narrow(1, a, 1), positions[a].item<int64_t>()), 1e-5, 1e-6));
}

TEST_CASE("randomized positions keep causality, draw alike for every share of a batch, and repeat in evaluation", "[core]") {
  const auto kind = GENERATE(from_range(test::all_schemes()));
  CAPTURE(kind);
  auto model = randomized_model(Family::kGpt, kind, 48);
  model->train();
  torch::NoGradGuard no_grad;
  auto tokens = torch::randint(4, 50, {4, 16});
  auto run = [&](const torch::Tensor& t) {
    torch::manual_seed(21);  // as train/step.cpp reseeds before every share
    return model->hidden(t);
  };
  auto base = run(tokens);
  // No causal leak at random positions.
  auto changed = tokens.clone();
  changed.narrow(1, 9, 7).random_(4, 50);
  auto after = run(changed);
  CHECK(torch::equal(base.narrow(1, 0, 9), after.narrow(1, 0, 9)));
  CHECK_FALSE(torch::allclose(base.narrow(1, 9, 1), after.narrow(1, 9, 1)));
  // Rows of the batch alone (a micro-batch or a rank's share) get the whole batch's outputs.
  CHECK(torch::allclose(run(tokens.narrow(0, 1, 2)), base.narrow(0, 1, 2), 1e-5, 1e-6));
  // The positions are really random: another draw moves the outputs (none has none to move).
  torch::manual_seed(22);
  if (kind != "none") CHECK_FALSE(torch::equal(model->hidden(tokens), base));
  // Evaluation draws positions too, from the stack's own generator, which eval() restarts: every
  // evaluation reads the same ones, and they are not 0..T-1.
  model->eval();
  auto first = model->hidden(tokens);
  model->eval();
  CHECK(torch::equal(model->hidden(tokens), first));
  auto plain = test::small_model(Family::kGpt, kind);  // the same seed: the same weights
  if (kind != "none") CHECK_FALSE(torch::equal(first, plain->hidden(tokens)));
  // Cached decoding, which cannot know the final length, reads 0..T-1.
  DecodeState state;
  std::vector<torch::Tensor> pieces;
  for (int64_t t = 0; t < 16; t += 4) pieces.push_back(model->hidden(tokens.narrow(1, t, 4), {}, {}, &state));
  CHECK(torch::allclose(torch::cat(pieces, 1), plain->hidden(tokens), 1e-5, 1e-5));
  // The range bounds the positions a model can place.
  CHECK(model->max_positions() == 48);  // learned: min(max_len 64, 48)
}
