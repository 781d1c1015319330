// Corpus BLEU and chrF as sacreBLEU 2.x computes them, so that figures can be compared with
// published ones (Post 2018). BLEU: word n-grams 1-4 after one of sacreBLEU's tokenizers (13a by
// default; eval/sacrebleu_tokenize.h), clipped by the most any reference holds, exponential
// smoothing, the brevity penalty against the closest reference length (Papineni et al. 2002).
// chrF: character n-grams 1-6 with whitespace removed and, for chrF++, word n-grams 1-2 (Popović
// 2015, 2017), precision and recall averaged over the orders present, beta 2, each sentence
// scored against its best reference. Scores on the 0-100 scale.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace qkv {

struct BleuOptions {
  std::string tokenize = "13a";  // 13a, intl, zh, char, none
  bool lowercase = false;
};

struct BleuScore {
  double score = 0, bp = 0, ratio = 0;
  std::array<double, 4> precisions{};
  std::array<int64_t, 4> correct{}, total{};
  int64_t sys_len = 0, ref_len = 0;
  // "41.3/13.6/8.1/5.6 (BP = 1.000 ratio = 1.033 hyp_len = 6421 ref_len = 6218)"
  std::string verbose() const;
};

// references: one stream per reference, each as long as `hypotheses` (InputError otherwise).
BleuScore sacrebleu_bleu(const std::vector<std::string>& hypotheses, const std::vector<std::vector<std::string>>& references,
                      const BleuOptions& options = {});
// One reference stream, 13a (the translation task's figure).
BleuScore corpus_bleu(const std::vector<std::string>& hypotheses, const std::vector<std::string>& references);
// sacreBLEU's signature of a BLEU score: "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:..."
std::string bleu_signature(size_t references, const BleuOptions& options);

struct ChrfOptions {
  int char_order = 6;
  int word_order = 0;  // 2: chrF++
  int beta = 2;
  bool lowercase = false;
};
double sacrebleu_chrf(const std::vector<std::string>& hypotheses, const std::vector<std::vector<std::string>>& references,
                   const ChrfOptions& options = {});
double corpus_chrf(const std::vector<std::string>& hypotheses, const std::vector<std::string>& references);
// "nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:..."; the name is chrF2, or chrF2++.
std::string chrf_signature(size_t references, const ChrfOptions& options);
std::string chrf_name(const ChrfOptions& options);

// What the signatures give as the version: sacreBLEU's own field, naming this implementation.
inline constexpr const char* kSacrebleuVersion = "qkv(sacrebleu-2.x)";

}  // namespace qkv
