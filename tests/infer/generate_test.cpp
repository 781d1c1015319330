// Generation: cached equals uncached for every scheme; top-k and top-p keep what they should;
// under autocast each weight is cast to bf16 once per generation, not once per token.
#include <catch2/catch.hpp>

#include "helpers.h"
#include "transformer/infer/generate.h"
#include "transformer/train/precision.h"

#include <torch/csrc/autograd/profiler_legacy.h>

#include <map>

using namespace qkv;

TEST_CASE("greedy generation with the KV cache equals generation without it", "[infer]") {
  const auto kind = GENERATE(from_range(test::all_schemes()));
  CAPTURE(kind);
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
  auto model = test::small_model(Family::kGpt, "learned");  // max_len 64
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

TEST_CASE("temperature comes before top-p, as in Hugging Face's processors", "[infer]") {
  // Logits 2, 1, 0 and top_p 0.7: at temperature 1 the probabilities are 0.665, 0.245, 0.090, so
  // the nucleus holds tokens 0 and 1; at temperature 0.5 (logits 4, 2, 0) they are 0.867, 0.117,
  // 0.016 and token 0 alone holds 0.7. Filtering before the temperature would keep token 1.
  auto logits = torch::tensor({2.0, 1.0, 0.0}).unsqueeze(0);
  auto generator = at::detail::createCPUGenerator(5);
  SamplingOptions options;
  options.top_p = 0.7;
  options.temperature = 0.5;
  for (int i = 0; i < 300; ++i) CHECK(choose_next(logits, options, generator).item<int64_t>() == 0);
  options.temperature = 1.0;
  int ones = 0;
  for (int i = 0; i < 300; ++i) ones += choose_next(logits, options, generator).item<int64_t>() == 1;
  CHECK(ones > 50);  // 0.245 / 0.910 of the draws, about 81 of 300
}

TEST_CASE("the repetition penalty divides positive and multiplies negative logits of seen tokens", "[infer]") {
  auto logits = torch::tensor({2.0, -1.0, 1.0, 0.5}).unsqueeze(0);
  const auto out = penalize_repetition(logits, {0, 1, 0}, 2.0);
  CHECK(torch::allclose(out, torch::tensor({1.0, -2.0, 1.0, 0.5}).unsqueeze(0)));
  // Greedy picks token 2 once token 0 is penalised: (2 / 2 = 1) ties 1 and loses to 1.5 below.
  auto generator = at::detail::createCPUGenerator(1);
  SamplingOptions greedy;
  greedy.temperature = 0;
  greedy.repetition_penalty = 2.5;
  auto tied = torch::tensor({2.0, -1.0, 1.5, 0.5}).unsqueeze(0);
  CHECK(choose_next(tied, greedy, generator).item<int64_t>() == 0);
  CHECK(choose_next(tied, greedy, generator, {0}).item<int64_t>() == 2);  // 2 / 2.5 = 0.8 < 1.5
}

TEST_CASE("decoding under autocast casts each weight to bf16 once, not once per token", "[infer]") {
  namespace profiler = torch::autograd::profiler;
  auto model = test::small_model(Family::kGpt, "rope");
  std::map<std::vector<int64_t>, int> weight_shapes;  // (out, in) of every matrix parameter
  for (const auto& p : model->parameters())
    if (p.dim() == 2) weight_shapes[p.sizes().vec()] = 0;
  GenerateOptions options;
  options.sampling.temperature = 0;
  options.max_new_tokens = 12;
  auto generator = at::detail::createCPUGenerator(1);
  profiler::enableProfilerLegacy(
      torch::profiler::impl::ProfilerConfig(torch::profiler::impl::ProfilerState::CPU, /*report_input_shapes=*/true));
  {
    AutocastScope autocast(Precision::kBf16);
    generate(model, {5, 9}, options, generator);
  }
  int casts = 0;
  for (const auto& events : profiler::disableProfilerLegacy())
    for (const auto& e : events) {
      if (e.kindStr() != "push" || std::string(e.name()) != "aten::_to_copy" || e.shapes().empty()) continue;
      auto shape = e.shapes()[0];
      if (shape.size() != 2) continue;
      std::reverse(shape.begin(), shape.end());  // a cast of weight.t() counts too
      for (const auto& s : {e.shapes()[0], shape})
        if (weight_shapes.count(s)) {
          ++weight_shapes[s];
          ++casts;
          break;
        }
    }
  CHECK(casts > 0);  // the profile saw the casts at all
  for (const auto& [shape, count] : weight_shapes) {
    CAPTURE(shape);
    CHECK(count <= 4);  // a few matrices share a shape; 12 tokens would give 12 casts per matrix
  }
}
