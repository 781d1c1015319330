// Generation: cached equals uncached for every scheme; top-k and top-p keep what they should.
#include <catch2/catch.hpp>

#include "helpers.h"
#include "transformer/infer/generate.h"

using namespace qkv;

TEST_CASE("greedy generation with the KV cache equals generation without it", "[infer]") {
  const auto kind = GENERATE(from_range(test::all_schemes()));
  CAPTURE(position_kind_name(kind));
  auto model = test::small_model(Family::kGpt, kind);
  GenerateOptions options;
  options.sampling.temperature = 0;
  options.max_new_tokens = 30;
  auto generator = at::detail::createCPUGenerator(1);
  const std::vector<int64_t> prompt{5, 9, 12};
  options.use_cache = true;
  auto cached = generate(model, prompt, options, generator);
  options.use_cache = false;
  auto uncached = generate(model, prompt, options, generator);
  CHECK(cached.size() == 30u);
  CHECK(cached == uncached);
}

TEST_CASE("generation stops at the last learned position", "[infer]") {
  auto model = test::small_model(Family::kGpt, PositionKind::kLearned);  // max_len 64
  GenerateOptions options;
  options.sampling.temperature = 0;
  options.max_new_tokens = 100;
  auto generator = at::detail::createCPUGenerator(1);
  CHECK(generate(model, {5, 6, 7, 8}, options, generator).size() == 60u);
}

TEST_CASE("top-k and top-p filtering", "[infer]") {
  // probabilities 0.5, 0.3, 0.15, 0.05
  auto logits = torch::tensor({0.5, 0.3, 0.15, 0.05}).log().unsqueeze(0);
  auto kept = [](const torch::Tensor& filtered) { return torch::isfinite(filtered).squeeze(0).to(torch::kLong); };
  CHECK(torch::equal(kept(filter_logits(logits, 2, 1.0)), torch::tensor({1, 1, 0, 0}, torch::kLong)));
  CHECK(torch::equal(kept(filter_logits(logits, 0, 0.7)), torch::tensor({1, 1, 0, 0}, torch::kLong)));
  CHECK(torch::equal(kept(filter_logits(logits, 0, 0.81)), torch::tensor({1, 1, 1, 0}, torch::kLong)));
  CHECK(torch::equal(kept(filter_logits(logits, 0, 0.4)), torch::tensor({1, 0, 0, 0}, torch::kLong)));
  // top-k first, then top-p on the renormalised rest: 0.5/0.95 + 0.3/0.95 = 0.842 >= 0.81.
  CHECK(torch::equal(kept(filter_logits(logits, 3, 0.81)), torch::tensor({1, 1, 0, 0}, torch::kLong)));
  // Sampling never returns a filtered token.
  auto generator = at::detail::createCPUGenerator(3);
  SamplingOptions options;
  options.top_k = 2;
  for (int i = 0; i < 200; ++i) CHECK(choose_next(logits, options, generator).item<int64_t>() < 2);
}
