// Masked-LM inputs: the selected fraction and the 80/10/10 split hold over many tokens, special
// tokens and padding are never selected, whole words are selected whole, and packed sequences
// keep the [CLS] a [SEP] b [SEP] layout within the length.
#include <catch2/catch.hpp>

#include "helpers.h"
#include "transformer/tasks/masked_lm.h"

using namespace qkv;

namespace {

constexpr int64_t kPad = 0, kMask = 4, kCls = 5, kSep = 6, kVocab = 1000;

// Rows of [CLS] tokens.. [SEP] followed by padding; ids 7.. are ordinary pieces.
std::pair<torch::Tensor, torch::Tensor> batch(int64_t rows, int64_t length, int64_t real) {
  auto tokens = torch::full({rows, length}, kPad, torch::kLong);
  auto keep = torch::zeros({rows, length}, torch::kBool);
  auto gen = at::detail::createCPUGenerator(3);
  tokens.narrow(1, 1, real - 2).copy_(torch::randint(7, kVocab, {rows, real - 2}, gen, torch::kLong));
  tokens.select(1, 0).fill_(kCls);
  tokens.select(1, real - 1).fill_(kSep);
  keep.narrow(1, 0, real).fill_(true);
  return {tokens, keep};
}

std::vector<bool> specials() {
  std::vector<bool> s(kVocab, false);
  for (int id = 0; id < 7; ++id) s[size_t(id)] = true;
  return s;
}

}  // namespace

TEST_CASE("masking selects 15% of the real tokens and replaces 80/10/10", "[tasks]") {
  auto [tokens, keep] = batch(400, 64, 50);  // 48 candidates a row
  std::vector<bool> word_start(kVocab, true);
  std::mt19937_64 rng(11);
  MaskingOptions o;
  const auto [inputs, targets] = mask_tokens(tokens, keep, word_start, specials(), kMask, o, rng);
  const auto selected = targets.ne(kIgnore);
  // round(0.15 * 48) = 7 a row, exactly.
  CHECK(selected.sum(1).eq(7).all().item<bool>());
  CHECK(torch::equal(targets.index({selected}), tokens.index({selected})));
  // Nothing outside the selection changes; special tokens and padding are never selected.
  CHECK(torch::equal(inputs.index({selected.logical_not()}), tokens.index({selected.logical_not()})));
  CHECK_FALSE(selected.index({keep.logical_not()}).any().item<bool>());
  CHECK_FALSE(selected.select(1, 0).any().item<bool>());
  CHECK_FALSE(selected.select(1, 49).any().item<bool>());
  const double n = selected.sum().item<double>();  // 2800 selected
  const double masked = inputs.index({selected}).eq(kMask).sum().item<double>() / n;
  const double kept = inputs.index({selected}).eq(tokens.index({selected})).sum().item<double>() / n;
  CHECK(masked == Approx(0.8).margin(0.03));
  CHECK(kept == Approx(0.1 + 0.1 / kVocab).margin(0.025));  // a random token is rarely the same one
  CHECK(inputs.index({selected}).ge(7).logical_or(inputs.index({selected}).eq(kMask)).all().item<bool>());

  std::mt19937_64 again(11);
  CHECK(torch::equal(mask_tokens(tokens, keep, word_start, specials(), kMask, o, again).first, inputs));  // a function of the seed
}

TEST_CASE("whole-word masking selects every piece of a word or none", "[tasks]") {
  auto [tokens, keep] = batch(200, 64, 60);
  std::vector<bool> word_start(kVocab, false);
  for (int64_t id = 7; id < kVocab; id += 3) word_start[size_t(id)] = true;  // a third of the pieces start words
  std::mt19937_64 rng(5);
  MaskingOptions o;
  o.whole_word = true;
  const auto targets = mask_tokens(tokens, keep, word_start, specials(), kMask, o, rng).second;
  auto t = tokens.accessor<int64_t, 2>();
  auto s = targets.accessor<int64_t, 2>();
  int64_t checked = 0;
  for (int64_t i = 0; i < tokens.size(0); ++i)
    for (int64_t j = 2; j < 59; ++j) {
      // A piece that continues a word is selected exactly when the piece before it is.
      if (word_start[size_t(t[i][j])]) continue;
      CHECK((s[i][j] != kIgnore) == (s[i][j - 1] != kIgnore));
      ++checked;
    }
  CHECK(checked > 1000);
}

TEST_CASE("packed lines: [CLS] a [SEP] b [SEP] within the length, segments 0 then 1", "[tasks]") {
  SpecialTokens special;
  special.cls = kCls;
  special.sep = kSep;
  std::vector<std::vector<int>> lines;
  for (int i = 0; i < 30; ++i) lines.push_back(std::vector<int>(size_t(3 + i % 7), 7 + i));
  lines.push_back(std::vector<int>(100, 99));  // longer than a whole sequence: cut
  const auto packed = pack_lines(lines, special, 32);
  int64_t pieces = 0;
  for (const auto& seq : packed) {
    REQUIRE(seq.ids.size() <= 32);
    CHECK(seq.ids.front() == kCls);
    CHECK(seq.ids.back() == kSep);
    CHECK(seq.segments.size() == seq.ids.size());
    CHECK(seq.segments.front() == 0);
    for (size_t k = 1; k < seq.ids.size(); ++k) CHECK(seq.segments[k] >= seq.segments[k - 1]);
    for (int64_t id : seq.ids) pieces += id >= 7;
  }
  int64_t all = 0;
  for (const auto& l : lines) all += int64_t(l.size());
  CHECK(pieces == all - (100 - 30));  // only the overlong line lost pieces: alone, it keeps 32 - 2
}

TEST_CASE("sentence objectives: next draws b from elsewhere, order swaps, half the time each", "[tasks]") {
  // Row i is a = {i}, b = {1000 + i}: every piece says where it came from.
  std::vector<TextPair> split;
  for (int i = 0; i < 200; ++i) split.push_back({{i}, {1000 + i}});
  split[7].b.clear();  // a single segment: no label
  const PairSplit pairs(split);
  for (auto objective : {SentenceObjective::kNext, SentenceObjective::kOrder}) {
    std::mt19937_64 rng(5);
    int ones = 0, zeros = 0;
    for (int round = 0; round < 10; ++round)
      for (size_t row = 0; row < split.size(); ++row) {
        TextPair pair;
        const int64_t label = sentence_pair(row, pairs, objective, rng, pair);
        CAPTURE(row, label);
        if (row == 7) {
          CHECK(label == kIgnore);
          CHECK((pair.a == split[7].a && pair.b.empty()));
          continue;
        }
        REQUIRE(pair.a.size() == 1);
        REQUIRE(pair.b.size() == 1);
        if (label == 1) {
          ++ones;
          CHECK((pair.a == split[row].a && pair.b == split[row].b));
        } else {
          REQUIRE(label == 0);
          ++zeros;
          if (objective == SentenceObjective::kOrder) {
            CHECK((pair.a == split[row].b && pair.b == split[row].a));
          } else {
            CHECK(pair.a == split[row].a);
            // Another row's b (or its a when it has none), never this row's or a neighbour's.
            const int source = pair.b[0] >= 1000 ? pair.b[0] - 1000 : pair.b[0];
            CHECK(std::abs(source - int(row)) >= 2);
            CHECK((pair.b[0] >= 1000 || source == 7));
          }
        }
      }
    CHECK(ones + zeros == 1990);
    CHECK(double(ones) / 1990 == Approx(0.5).margin(0.04));
  }
  std::mt19937_64 rng(5);
  TextPair pair;
  CHECK(sentence_pair(3, pairs, SentenceObjective::kNone, rng, pair) == kIgnore);
  CHECK((pair.a == split[3].a && pair.b == split[3].b));
}
