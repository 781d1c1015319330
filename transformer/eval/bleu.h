// Corpus BLEU and chrF as sacreBLEU 2.x computes them by default, so that figures can be compared
// with published ones: BLEU with the 13a tokenizer (mteval-v13a), exponential smoothing and the
// brevity penalty, one reference (Papineni et al. 2002; Post 2018); chrF2 over character 1- to
// 6-grams with whitespace removed, precision and recall averaged over the orders present
// (Popović 2015). Scores on the 0-100 scale.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace qkv {

// mteval-v13a tokenization: XML entities unescaped, punctuation and symbols split off, periods
// and commas split unless between digits, dashes split after digits, single spaces.
std::string tokenize_13a(const std::string& line);

struct BleuScore {
  double score = 0, bp = 0, ratio = 0;
  std::array<double, 4> precisions{};
  std::array<int64_t, 4> correct{}, total{};
  int64_t sys_len = 0, ref_len = 0;
  // "41.3/13.6/8.1/5.6 (BP = 1.000 ratio = 1.033 hyp_len = 6421 ref_len = 6218)"
  std::string verbose() const;
};
// InputError when the two lists differ in length.
BleuScore corpus_bleu(const std::vector<std::string>& hypotheses, const std::vector<std::string>& references);

// chrF with beta 2 over character n-grams 1..6 (Unicode code points, whitespace removed).
double corpus_chrf(const std::vector<std::string>& hypotheses, const std::vector<std::string>& references);

}  // namespace qkv
