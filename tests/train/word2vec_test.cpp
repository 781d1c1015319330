// Skip-gram with negative sampling recovers a planted similarity: two words that share every
// context end up closer than a word of other contexts; vectors survive the text format; a bad
// vector file stops with file:line.
#include <catch2/catch.hpp>

#include <fstream>
#include <random>

#include "helpers.h"
#include "transformer/train/word2vec.h"
#include "transformer/util/errors.h"

using namespace qkv;

namespace {

// "cat" and "dog" occur in the same animal contexts, "car" and "bus" in vehicle contexts.
std::vector<std::vector<std::string>> planted_corpus() {
  const std::vector<std::string> animals{"cat", "dog"}, vehicles{"car", "bus"};
  const std::vector<std::vector<std::string>> animal_frames{{"the", "@", "eats", "meat", "and", "sleeps"},
                                                            {"a", "hungry", "@", "chases", "the", "mouse"},
                                                            {"my", "@", "purrs", "barks", "and", "plays"}};
  const std::vector<std::vector<std::string>> vehicle_frames{{"the", "@", "drives", "on", "the", "road"},
                                                             {"a", "fast", "@", "needs", "fuel", "today"},
                                                             {"my", "@", "parks", "in", "the", "garage"}};
  std::mt19937 rng(3);
  std::vector<std::vector<std::string>> sentences;
  for (int i = 0; i < 3000; ++i) {
    const bool animal = i % 2 == 0;
    auto frame = (animal ? animal_frames : vehicle_frames)[rng() % 3];
    for (auto& w : frame)
      if (w == "@") w = (animal ? animals : vehicles)[rng() % 2];
    sentences.push_back(frame);
  }
  return sentences;
}

}  // namespace

TEST_CASE("word2vec: words sharing contexts end up closer than words of other contexts", "[train]") {
  Word2VecOptions o;
  o.dim = 16;
  o.window = 3;
  o.min_count = 1;
  o.subsample = 0;
  o.epochs = 2;
  o.batch = 256;
  const auto vectors = train_word2vec(planted_corpus(), o);
  const int64_t cat = vectors.index("cat"), dog = vectors.index("dog"), car = vectors.index("car"), bus = vectors.index("bus");
  REQUIRE(cat >= 0);
  REQUIRE(car >= 0);
  CHECK(cosine(vectors, cat, dog) > cosine(vectors, cat, car) + 0.3);
  CHECK(cosine(vectors, car, bus) > cosine(vectors, car, dog) + 0.3);
  // The start is not already similar: the same words before training (seeded, no steps).
  o.epochs = 1;
  o.lr = 0.0;
  const auto untrained = train_word2vec(planted_corpus(), o);
  CHECK(cosine(untrained, untrained.index("cat"), untrained.index("dog")) < 0.6);
}

TEST_CASE("word vectors: the text format round trip, GloVe's headerless form, and bad lines", "[train]") {
  test::ScratchDir dir("word2vec");
  WordVectors v;
  v.words = {"in", "beginning", "起初"};
  v.counts = {3, 2, 1};
  v.vectors = torch::tensor({{0.5f, -1.25f}, {2.0f, 0.0f}, {1e-3f, 7.0f}});
  write_word_vectors(v, dir / "v.txt");
  const auto back = read_word_vectors(dir / "v.txt");
  CHECK(back.words == v.words);
  CHECK(torch::allclose(back.vectors, v.vectors));
  std::ofstream(dir / "glove.txt") << "in 0.5 -1.25\nbeginning 2 0\n";
  CHECK(read_word_vectors(dir / "glove.txt").words.size() == 2);
  std::ofstream(dir / "bad.txt") << "2 2\nin 0.5 -1.25\nbeginning 2\n";
  CHECK_THROWS_WITH(read_word_vectors(dir / "bad.txt"), Catch::Contains("bad.txt:3: vector: 1 numbers"));
  std::ofstream(dir / "nan.txt") << "in 0.5 x1\n";
  CHECK_THROWS_WITH(read_word_vectors(dir / "nan.txt"), Catch::Contains("nan.txt:1: vector: 'x1' is not a number"));
}

TEST_CASE("word2vec's words: lower case, split at punctuation, UTF-8 kept whole", "[train]") {
  CHECK(word2vec_words("In the beginning, God's WORD: 起初 神") ==
        std::vector<std::string>{"in", "the", "beginning", "god's", "word", "起初", "神"});
  CHECK(word2vec_words("\u2018Yahweh\u2019s word\u2014spoken\u201d") == std::vector<std::string>{"yahweh", "s", "word", "spoken"});
}
