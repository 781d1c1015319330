// BLEU and chrF against values worked out by hand from sacreBLEU's definitions: 13a tokenization,
// clipped n-gram precisions, exponential smoothing, the brevity penalty, chrF2's averaged
// character n-gram precision and recall.
#include <catch2/catch.hpp>

#include <cmath>

#include "transformer/util/errors.h"
#include "transformer/eval/bleu.h"
#include "transformer/eval/sacrebleu_tokenize.h"

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

TEST_CASE("sacreBLEU's intl tokenizer splits punctuation and symbols by their Unicode categories", "[eval]") {
  CHECK(sacrebleu_tokenize("Hello, world!", "intl") == "Hello , world !");
  // Punctuation between digits stays; a number's final period too (mteval-v14 adds no end spaces).
  CHECK(sacrebleu_tokenize("It's 3.14 \xE2\x82\xAC" "5 in 2019.", "intl") == "It ' s 3.14 \xE2\x82\xAC 5 in 2019.");
  // An en dash and Spanish marks are punctuation; letters with accents stay whole.
  CHECK(sacrebleu_tokenize("a\xE2\x80\x93" "b \xC2\xBFQu\xC3\xA9?", "intl") == "a \xE2\x80\x93 b \xC2\xBF Qu\xC3\xA9 ?");
  CHECK(sacrebleu_tokenize("\"Quoted\" (x).", "intl") == "\" Quoted \" ( x ) .");
}

TEST_CASE("sacreBLEU's zh tokenizer: one token per CJK character, the rest as 13a", "[eval]") {
  // Ideographs and CJK punctuation (U+3002, U+FF0C, U+FF01) stand alone; Latin words keep 13a's rules.
  CHECK(sacrebleu_tokenize("\xE4\xBD\xA0\xE5\xA5\xBD\xEF\xBC\x8C\xE4\xB8\x96\xE7\x95\x8C\xEF\xBC\x81 Hello, world.", "zh") ==
        "\xE4\xBD\xA0 \xE5\xA5\xBD \xEF\xBC\x8C \xE4\xB8\x96 \xE7\x95\x8C \xEF\xBC\x81 Hello , world .");
  // Curly quotes (U+201C, U+201D) fall in sacreBLEU's range '\u20000'..'\u2a6d6', which compares
  // as U+2001..U+2A6D: they are split off too, as sacreBLEU does.
  CHECK(sacrebleu_tokenize("\xE4\xBB\x96\xE8\xAF\xB4\xEF\xBC\x9A\xE2\x80\x9COK\xE2\x80\x9D", "zh") ==
        "\xE4\xBB\x96 \xE8\xAF\xB4 \xEF\xBC\x9A \xE2\x80\x9C OK \xE2\x80\x9D");
  // BLEU with zh on Chinese, worked out: hyp 今天天气很好 against ref 今天天气非常好, and one
  // identical 7-token line: 1-grams 12/13, 2-grams 9/11, 3-grams 7/9, 4-grams 5/7; 13 tokens for 14.
  const std::vector<std::string> hyp{"\xE7\x8C\xAB\xE5\x9D\x90\xE5\x9C\xA8\xE5\x9E\xAB\xE5\xAD\x90\xE4\xB8\x8A\xE3\x80\x82",
                                     "\xE4\xBB\x8A\xE5\xA4\xA9\xE5\xA4\xA9\xE6\xB0\x94\xE5\xBE\x88\xE5\xA5\xBD"};
  const std::vector<std::string> ref{hyp[0], "\xE4\xBB\x8A\xE5\xA4\xA9\xE5\xA4\xA9\xE6\xB0\x94\xE9\x9D\x9E\xE5\xB8\xB8\xE5\xA5\xBD"};
  BleuOptions zh;
  zh.tokenize = "zh";
  const auto s = sacrebleu_bleu(hyp, {ref}, zh);
  CHECK(s.correct == std::array<int64_t, 4>{12, 9, 7, 5});
  CHECK(s.total == std::array<int64_t, 4>{13, 11, 9, 7});
  const double expected = std::exp(1.0 - 14.0 / 13.0) *
      std::exp((std::log(1200.0 / 13) + std::log(900.0 / 11) + std::log(700.0 / 9) + std::log(500.0 / 7)) / 4);
  CHECK(s.score == Approx(expected));
  CHECK(corpus_bleu(hyp, ref).score == 0.0);  // 13a sees two unsplit words a line: the 0.00 users met
}

TEST_CASE("sacreBLEU's char and none tokenizers, and lowercased BLEU", "[eval]") {
  CHECK(sacrebleu_tokenize("ab c", "char") == "a b   c");  // BLEU's split drops the spaces
  CHECK(sacrebleu_tokenize("a,b (c)", "none") == "a,b (c)");
  BleuOptions chars;
  chars.tokenize = "char";
  // "abcd" against "abce" by characters: 3/4, 2/3, 1/2, 0/1 -> the last smoothed to 100 / (2 * 1).
  const auto s = sacrebleu_bleu({"abcd"}, {{"abce"}}, chars);
  CHECK(s.correct == std::array<int64_t, 4>{3, 2, 1, 0});
  CHECK(s.score == Approx(std::exp((std::log(75.0) + std::log(200.0 / 3) + std::log(50.0) + std::log(50.0)) / 4)));
  BleuOptions lower;
  lower.lowercase = true;
  CHECK(sacrebleu_bleu({"The CAT Sat ON the MAT"}, {{"the cat sat on the mat"}}, lower).score == Approx(100.0));
  CHECK(sacrebleu_bleu({"\xC3\x89T\xC3\x89 \xC3\x89T\xC3\x89 X Y"}, {{"\xC3\xA9t\xC3\xA9 \xC3\xA9t\xC3\xA9 x y"}}, lower).score ==
        Approx(100.0));  // Unicode case mapping: É to é
  CHECK(bleu_signature(2, lower) == "nrefs:2|case:lc|eff:no|tok:13a|smooth:exp|version:qkv(sacrebleu-2.x)");
}

TEST_CASE("BLEU with several references: counts clipped by the most any holds, the closest length", "[eval]") {
  // hyp "the the cat" (3 tokens): ref A "the cat" has one "the", ref B "the the dog here" two.
  // 1-grams: the x2 (max 2), cat (A) -> 3/3; 2-grams: "the the" (B), "the cat" (A) -> 2/2;
  // 3-grams "the the cat" in neither -> 0/1, smoothed to 50. Closest length to 3: 2 and 4 tie,
  // the shorter wins -> ref_len 2, no brevity penalty.
  const auto s = sacrebleu_bleu({"the the cat"}, {{"the cat"}, {"the the dog here"}});
  CHECK(s.correct == std::array<int64_t, 4>{3, 2, 0, 0});
  CHECK(s.ref_len == 2);
  CHECK(s.bp == 1.0);
  CHECK(s.precisions[2] == Approx(50.0));
  CHECK(s.precisions[3] == 0.0);  // no 4-grams in the hypothesis: that order stays 0, so BLEU is 0
  CHECK(s.score == 0.0);
}

TEST_CASE("chrF++ adds word 1- and 2-grams; several references take each sentence's best", "[eval]") {
  ChrfOptions plus;
  plus.word_order = 2;
  CHECK(sacrebleu_chrf({"the cat."}, {{"the cat."}}, plus) == Approx(100.0));
  // "ab cd" against "ab ce": characters (no spaces) abcd / abce: 1-grams 3/4, 2-grams 2/3,
  // 3-grams 1/2, 4-grams 0/1 (5- and 6-grams absent); words: 1-grams 1/2, 2-grams 0/1.
  // P = R at every order (equal lengths): (3/4 + 2/3 + 1/2 + 0 + 1/2 + 0) / 6.
  const double pr = (0.75 + 2.0 / 3 + 0.5 + 0 + 0.5 + 0) / 6;
  CHECK(sacrebleu_chrf({"ab cd"}, {{"ab ce"}}, plus) == Approx(100.0 * pr));
  // A trailing mark is split off a word: "cat." and "cat ." have the same word n-grams.
  CHECK(sacrebleu_chrf({"the cat."}, {{"the cat ."}}, plus) == Approx(100.0));
  CHECK(chrf_name(plus) == "chrF2++");
  CHECK(chrf_signature(1, plus) == "nrefs:1|case:mixed|eff:yes|nc:6|nw:2|space:no|version:qkv(sacrebleu-2.x)");
  // Two references: the sentence is scored against the better one.
  CHECK(sacrebleu_chrf({"abc"}, {{"xyz"}, {"abc"}}) == Approx(100.0));
}
