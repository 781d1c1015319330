// model.embedding_init maps the right rows: pieces find their words through SentencePiece's and
// GPT-2's markers, matched rows take the vectors' directions at the model's initial norm, the
// others stay as they were; a vector size that differs goes through a fixed projection.
#include <catch2/catch.hpp>

#include "helpers.h"
#include "transformer/train/embedding_init.h"

using namespace qkv;

namespace {

WordVectors four_words(int64_t dim) {
  WordVectors v;
  v.words = {"in", "beginning", "god", "word", "unused"};
  v.counts = {0, 0, 0, 0, 0};
  torch::manual_seed(5);
  v.vectors = torch::randn({5, dim});
  return v;
}

const std::vector<std::string> kPieces{"<pad>", "\xE2\x96\x81In", "\xE2\x96\x81the", "ing", "\xE2\x96\x81" "beginning", "\xC4\xA0God", "word"};

}  // namespace

TEST_CASE("piece_word strips SentencePiece's and GPT-2's markers and lower-cases", "[train]") {
  CHECK(piece_word("\xE2\x96\x81In") == "in");
  CHECK(piece_word("\xC4\xA0God") == "god");
  CHECK(piece_word("##ing") == "##ing");
  CHECK(piece_word("\xE2\x96\x81起初") == "起初");
}

TEST_CASE("embedding_init: a vocabulary without word-start marks (WordPiece) matches whole words, never ##", "[train]") {
  auto weight = torch::randn({4, 4}) * 0.02;
  WordVectors v;
  v.words = {"god", "ing"};
  v.counts = {0, 0};
  v.vectors = torch::randn({2, 4});
  CHECK(init_embedding_rows(weight, {"[PAD]", "god", "##ing", "the"}, v, 1).matched == 1);
}

TEST_CASE("embedding_init: matched rows take the vectors, scaled to the initial norm; the rest are untouched", "[train]") {
  torch::manual_seed(1);
  auto weight = torch::randn({7, 4}) * 0.02;
  const auto before = weight.clone();
  const auto vectors = four_words(4);
  const auto report = init_embedding_rows(weight, kPieces, vectors, 1);
  // In, beginning, God; not the (no vector), ing, <pad>, nor the word-internal "word" of a
  // vocabulary that marks word starts.
  CHECK(report.matched == 3);
  CHECK(report.pieces == 7);
  for (int64_t row : {0, 2, 3, 6}) CHECK(torch::equal(weight[row], before[row]));
  const std::vector<std::pair<int64_t, int64_t>> pairs{{1, 0}, {4, 1}, {5, 2}};  // (piece row, vector row)
  for (const auto& [row, word] : pairs) {
    CAPTURE(row);
    CHECK(torch::cosine_similarity(weight[row].unsqueeze(0), vectors.vectors[word].unsqueeze(0)).item<double>() == Approx(1.0));
  }
  auto matched = torch::stack({weight[1], weight[4], weight[5]});
  CHECK(matched.norm(2, 1).mean().item<double>() == Approx(before.norm(2, 1).mean().item<double>()).epsilon(1e-5));
}

TEST_CASE("embedding_init: vectors of another size are projected, the same way for the same seed", "[train]") {
  auto a = torch::randn({7, 8}) * 0.02, b = a.clone();
  auto vectors = four_words(3);
  vectors.vectors[2] = vectors.vectors[0];  // "god" and "in" share a vector
  init_embedding_rows(a, kPieces, vectors, 9);
  init_embedding_rows(b, kPieces, vectors, 9);
  CHECK(torch::equal(a, b));
  CHECK(torch::allclose(a[1], a[5]));  // equal vectors, equal rows
  CHECK_FALSE(torch::allclose(a[1], a[4]));
}
