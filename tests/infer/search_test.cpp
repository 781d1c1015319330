// Decoding for encoder-decoder models (Transformer and LSTM): beam size 1 is greedy, the cached
// decoder equals the uncached one, a wide enough beam finds the exhaustive search's best sequence,
// a sentence decodes the same alone or in a padded batch, and outputs respect the length limit.
#include <catch2/catch.hpp>

#include <cmath>

#include "helpers.h"
#include "transformer/infer/search.h"

using namespace qkv;

namespace {

constexpr int64_t kVocab = 40, kBos = 2, kEos = 3;

Model decoder_model(Family family, uint64_t seed) {
  auto config = test::small_config(Family::kSeq2Seq, family == Family::kRnn ? "none" : std::string("rope"));
  config.family = family;
  auto model = make_model(config, kVocab, seed);
  model->eval();
  return model;
}

// Sentences of different lengths, right-padded.
std::pair<torch::Tensor, torch::Tensor> sources(uint64_t seed, int64_t rows) {
  auto gen = at::detail::createCPUGenerator(seed);
  auto tokens = torch::randint(7, kVocab, {rows, 9}, gen, torch::kLong);
  auto keep = torch::ones({rows, 9}, torch::kBool);
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t length = 3 + (r * 2) % 7;
    tokens[r][length - 1] = kEos;
    tokens[r].narrow(0, length, 9 - length).fill_(0);
    keep[r].narrow(0, length, 9 - length).fill_(false);
  }
  return {tokens, keep};
}

}  // namespace

TEST_CASE("beam size 1 is greedy; cached and uncached decoding agree", "[infer]") {
  for (Family family : {Family::kSeq2Seq, Family::kRnn}) {
    CAPTURE(family == Family::kRnn);
    auto model = decoder_model(family, 5);
    auto [source, keep] = sources(9, 6);
    SearchOptions o;
    o.max_len_a = 1.0;
    o.max_len_b = 4;
    const auto greedy = greedy_search(model, source, keep, kBos, kEos, o);
    o.beam = 1;
    const auto beam1 = beam_search(model, source, keep, kBos, kEos, o);
    for (size_t i = 0; i < greedy.size(); ++i) {
      CHECK(beam1[i].tokens == greedy[i].tokens);
      CHECK(beam1[i].score == Approx(greedy[i].score).epsilon(1e-6));
    }
    SearchOptions uncached = o;
    uncached.use_cache = false;
    const auto greedy_uncached = greedy_search(model, source, keep, kBos, kEos, uncached);
    o.beam = uncached.beam = 4;
    const auto beam = beam_search(model, source, keep, kBos, kEos, o);
    const auto beam_uncached = beam_search(model, source, keep, kBos, kEos, uncached);
    for (size_t i = 0; i < greedy.size(); ++i) {
      CHECK(greedy_uncached[i].tokens == greedy[i].tokens);
      CHECK(greedy_uncached[i].log_prob == Approx(greedy[i].log_prob).epsilon(1e-5));
      CHECK(beam_uncached[i].tokens == beam[i].tokens);
      CHECK(beam_uncached[i].score == Approx(beam[i].score).epsilon(1e-5));
    }
  }
}

// Log-probability of a target sequence (without <s>) under teacher forcing, from the full forward.
double sequence_log_prob(Model& model, const torch::Tensor& source, const std::vector<int64_t>& target) {
  torch::NoGradGuard no_grad;
  DecodeState state;
  state.incremental = false;
  model->encode(source, {}, &state);
  std::vector<int64_t> inputs{kBos};
  inputs.insert(inputs.end(), target.begin(), target.end() - 1);
  auto logits = model->token_logits(model->hidden(torch::tensor(inputs).unsqueeze(0), {}, {}, &state));  // (1, T, V)
  auto logp = torch::log_softmax(logits.to(torch::kFloat64), -1)[0];
  double total = 0;
  for (size_t t = 0; t < target.size(); ++t) total += logp[int64_t(t)][target[t]].item<double>();
  return total;
}

TEST_CASE("beam search with k >= |V|^(L-1) finds the exhaustive search's best sequence", "[infer]") {
  // A toy vocabulary: <pad>, <unk>, <s>, </s> and two symbols; the search may emit <unk>, </s>
  // and the symbols (4 choices). Outputs up to L = 3 tokens: ended by </s>, or cut at the limit.
  constexpr int64_t kToy = 6;
  const double alpha = GENERATE(0.0, 0.6, 2.0);
  for (Family family : {Family::kSeq2Seq, Family::kRnn}) {
    for (uint64_t seed = 1; seed <= 3; ++seed) {
      CAPTURE(family == Family::kRnn, seed, alpha);
      auto config = test::small_config(Family::kSeq2Seq, family == Family::kRnn ? "none" : "rope");
      config.family = family;
      auto model = make_model(config, kToy, seed);
      model->eval();
      {
        torch::NoGradGuard no_grad;  // sharper distributions than the small init gives
        for (auto& p : model->parameters()) p.mul_(8.0);
      }
      auto source = torch::tensor({int64_t(4), int64_t(5), int64_t(4), kEos}).unsqueeze(0);
      SearchOptions o;
      o.max_len_a = 0;
      o.max_len_b = 3;
      o.length_penalty = alpha;
      o.beam = 16;  // 4^(3-1)
      const Hypothesis beam = beam_search(model, source, {}, kBos, kEos, o)[0];
      // Every output: up to 3 tokens from {<unk>, </s>, 4, 5}, </s> only last, or cut at 3.
      double best = -INFINITY;
      std::vector<int64_t> best_tokens;
      const std::vector<int64_t> symbols{1, kEos, 4, 5};
      std::vector<std::vector<int64_t>> frontier{{}};
      while (!frontier.empty()) {
        auto prefix = frontier.back();
        frontier.pop_back();
        for (int64_t token : symbols) {
          auto y = prefix;
          y.push_back(token);
          if (token == kEos || y.size() == 3) {
            const double score = sequence_log_prob(model, source, y) / length_penalty(int64_t(y.size()), alpha);
            if (score > best) best = score, best_tokens = y;
          } else {
            frontier.push_back(y);
          }
        }
      }
      CHECK(beam.tokens == best_tokens);
      CHECK(beam.score == Approx(best).epsilon(1e-4));
    }
  }
}

TEST_CASE("plain beam search finds hypotheses greedy misses", "[infer]") {
  int64_t better = 0, below = 0, sentences = 0;
  for (Family family : {Family::kSeq2Seq, Family::kRnn}) {
    for (uint64_t seed = 1; seed <= 4; ++seed) {
      auto model = decoder_model(family, seed);
      auto [source, keep] = sources(seed + 100, 8);
      SearchOptions o;
      o.beam = 4;
      const auto greedy = greedy_search(model, source, keep, kBos, kEos, o);
      const auto beam = beam_search(model, source, keep, kBos, kEos, o);
      for (size_t i = 0; i < greedy.size(); ++i) {
        better += beam[i].score > greedy[i].score + 1e-6;
        below += beam[i].score < greedy[i].score - 1e-9;  // it may prune the greedy path: not an error
        ++sentences;
      }
    }
  }
  WARN("beam 4 above greedy in " << better << ", below in " << below << " of " << sentences << " sentences");
  CHECK(better > 0);  // the search is not greedy in disguise
}

TEST_CASE("a sentence decodes the same alone as in a padded batch, within the length limit", "[infer]") {
  for (Family family : {Family::kSeq2Seq, Family::kRnn}) {
    auto model = decoder_model(family, 3);
    auto [source, keep] = sources(21, 5);
    SearchOptions o;
    o.beam = 3;
    o.max_len_a = 0.5;
    o.max_len_b = 2;
    const auto together = beam_search(model, source, keep, kBos, kEos, o);
    for (int64_t r = 0; r < 5; ++r) {
      const int64_t length = keep[r].sum().item<int64_t>();
      const auto alone = beam_search(model, source[r].narrow(0, 0, length).unsqueeze(0), {}, kBos, kEos, o);
      CHECK(alone[0].tokens == together[size_t(r)].tokens);
      CHECK(alone[0].score == Approx(together[size_t(r)].score).epsilon(1e-4));
      CHECK(int64_t(together[size_t(r)].tokens.size()) <= int64_t(0.5 * double(length)) + 2);
    }
  }
}
