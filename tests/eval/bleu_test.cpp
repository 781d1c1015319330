// BLEU and chrF against values worked out by hand from sacreBLEU's definitions: 13a tokenization,
// clipped n-gram precisions, exponential smoothing, the brevity penalty, chrF2's averaged
// character n-gram precision and recall.
#include <catch2/catch.hpp>

#include <cmath>

#include "transformer/util/errors.h"
#include "transformer/eval/bleu.h"

using namespace qkv;

TEST_CASE("13a tokenization splits punctuation as mteval-v13a does", "[eval]") {
  CHECK(tokenize_13a("Hello, world!") == "Hello , world !");
  CHECK(tokenize_13a("It costs 3.14 or 1,000 dollars.") == "It costs 3.14 or 1,000 dollars .");
  CHECK(tokenize_13a("x.y") == "x . y");
  CHECK(tokenize_13a("1.5.") == "1.5 .");
  CHECK(tokenize_13a("well-known 1-2") == "well-known 1 - 2");
  CHECK(tokenize_13a("don't (hi) [a] {b} a/b") == "don't ( hi ) [ a ] { b } a / b");
  CHECK(tokenize_13a("&quot;Yes&quot; &amp; &lt;no&gt;") == "\" Yes \" & < no >");
  CHECK(tokenize_13a("  spaced \t out  ") == "spaced out");
  CHECK(tokenize_13a("caf\xC3\xA9, na\xC3\xAFve.") == "caf\xC3\xA9 , na\xC3\xAFve .");  // multi-byte letters stay whole
  CHECK(tokenize_13a("a\xC2\xA0" "b") == "a b");  // a no-break space separates words, as Python's split() does
  CHECK(tokenize_13a("<skipped>end") == "end");
}

TEST_CASE("BLEU: perfect, disjoint, and the brevity penalty", "[eval]") {
  const auto perfect = corpus_bleu({"the cat sat on the mat"}, {"the cat sat on the mat"});
  CHECK(perfect.score == Approx(100.0));
  CHECK(perfect.bp == 1.0);
  CHECK(corpus_bleu({"a b c d"}, {"w x y z"}).score == 0.0);
  // Every n-gram of "the cat sat on" matches (4/4, 3/3, 2/2, 1/1), but it is 4 tokens for 6.
  const auto short_hyp = corpus_bleu({"the cat sat on"}, {"the cat sat on the mat"});
  CHECK(short_hyp.precisions[3] == Approx(100.0));
  CHECK(short_hyp.bp == Approx(std::exp(1.0 - 6.0 / 4.0)));
  CHECK(short_hyp.score == Approx(100.0 * std::exp(-0.5)));
  CHECK(short_hyp.verbose() == "100.0/100.0/100.0/100.0 (BP = 0.607 ratio = 0.667 hyp_len = 4 ref_len = 6)");
  // Longer than the reference: no penalty.
  CHECK(corpus_bleu({"the cat sat on the mat today"}, {"the cat sat on the mat"}).bp == 1.0);
}

TEST_CASE("BLEU: clipped counts and exponential smoothing of empty orders", "[eval]") {
  // hyp "the cat the dog" against "the cat sat on the mat":
  // 1-grams the x2 (ref has 2), cat, dog -> 3/4; 2-grams "the cat" only -> 1/3;
  // 3-grams 0/2 -> 100 / (2 * 2) = 25; 4-grams 0/1 -> 100 / (4 * 1) = 25.
  const auto s = corpus_bleu({"the cat the dog"}, {"the cat sat on the mat"});
  CHECK(s.correct == std::array<int64_t, 4>{3, 1, 0, 0});
  CHECK(s.total == std::array<int64_t, 4>{4, 3, 2, 1});
  CHECK(s.precisions[0] == Approx(75.0));
  CHECK(s.precisions[1] == Approx(100.0 / 3));
  CHECK(s.precisions[2] == Approx(25.0));
  CHECK(s.precisions[3] == Approx(25.0));
  const double expected = std::exp(1.0 - 6.0 / 4.0) * std::exp((std::log(75.0) + std::log(100.0 / 3) + 2 * std::log(25.0)) / 4);
  CHECK(s.score == Approx(expected));
  // Clipping: "the the the the" against "the cat": 1 of 4 unigrams counts.
  CHECK(corpus_bleu({"the the the the"}, {"the cat"}).correct[0] == 1);
}

TEST_CASE("BLEU: statistics summed over the corpus; too short for 4-grams scores 0", "[eval]") {
  CHECK(corpus_bleu({"the cat"}, {"the cat"}).score == 0.0);  // no 3- or 4-grams at all
  // Two sentences: corpus counts, not an average of sentence scores.
  const auto two = corpus_bleu({"the cat sat on the mat", "a b"}, {"the cat sat on the mat", "a b"});
  CHECK(two.total == std::array<int64_t, 4>{8, 6, 4, 3});
  CHECK(two.score == Approx(100.0));
  CHECK_THROWS_AS(corpus_bleu({"a"}, {"a", "b"}), InputError);
}

TEST_CASE("chrF2 by hand", "[eval]") {
  CHECK(corpus_chrf({"the cat sat"}, {"the cat sat"}) == Approx(100.0));
  CHECK(corpus_chrf({"xyz"}, {"abc"}) == 0.0);
  // "abc" against "abd": 1-grams 2/3 both ways, 2-grams 1/2, 3-grams 0/1, no longer n-grams:
  // precision = recall = (2/3 + 1/2 + 0) / 3 = 7/18, and so is F2.
  CHECK(corpus_chrf({"abc"}, {"abd"}) == Approx(100.0 * 7.0 / 18.0));
  CHECK(corpus_chrf({"a b c"}, {"abc"}) == Approx(100.0));  // whitespace is not a character of chrF
  // Recall weighs four times precision: "ab" against "abcd" (P 1, R 1/2 at order 1; P 1, R 1/3 at 2).
  const double p = 1.0, r = (0.5 + 1.0 / 3.0) / 2.0;
  CHECK(corpus_chrf({"ab"}, {"abcd"}) == Approx(100.0 * 5 * p * r / (4 * p + r)));
  CHECK(corpus_chrf({"\xC3\xA9t\xC3\xA9"}, {"\xC3\xA9t\xC3\xA9"}) == Approx(100.0));  // code points, not bytes
}
