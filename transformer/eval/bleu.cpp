// BLEU and chrF as sacreBLEU 2.x computes them.
#include "transformer/eval/bleu.h"

#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>

#include "transformer/eval/sacrebleu_tokenize.h"
#include "transformer/util/errors.h"

namespace qkv {

namespace {

using Counts = std::map<std::vector<std::string>, int64_t>;

// Word n-grams 1..4 of a tokenized line.
Counts word_ngrams(const std::vector<std::string>& words) {
  Counts counts;
  for (size_t n = 1; n <= 4; ++n)
    for (size_t i = 0; i + n <= words.size(); ++i) counts[{words.begin() + long(i), words.begin() + long(i + n)}] += 1;
  return counts;
}

std::vector<std::string> bleu_words(std::string line, const BleuOptions& o) {
  if (o.lowercase) line = unicode_lower(line);
  while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();  // rstrip
  return split_whitespace(sacrebleu_tokenize(line, o.tokenize));
}

// The closest reference length to the hypothesis's, the shorter on a tie (sacreBLEU).
int64_t closest_length(int64_t hyp, const std::vector<int64_t>& refs) {
  int64_t best = -1, best_diff = -1;
  for (int64_t r : refs) {
    const int64_t diff = std::abs(hyp - r);
    if (best_diff < 0 || diff < best_diff || (diff == best_diff && r < best)) best = r, best_diff = diff;
  }
  return best;
}

void check_streams(const std::vector<std::string>& hypotheses, const std::vector<std::vector<std::string>>& references) {
  if (references.empty()) throw InputError("no reference");
  for (const auto& stream : references) {
    if (stream.size() != hypotheses.size()) {
      throw InputError(fmt::format("{} hypotheses for {} references", hypotheses.size(), stream.size()));
    }
  }
}

// BLEU from its statistics: exponential smoothing (mteval's: 1 / 2^k for the k-th order without
// a match), orders without any n-gram stay 0.
void finish_bleu(BleuScore& s) {
  s.ratio = s.ref_len > 0 ? double(s.sys_len) / double(s.ref_len) : 0.0;
  s.bp = s.sys_len < s.ref_len ? (s.sys_len > 0 ? std::exp(1.0 - double(s.ref_len) / double(s.sys_len)) : 0.0) : 1.0;
  if (std::none_of(s.correct.begin(), s.correct.end(), [](int64_t c) { return c > 0; })) return;  // no match: 0
  double smooth = 1.0, log_sum = 0;
  for (size_t n = 0; n < 4; ++n) {
    if (s.total[n] == 0) break;  // no n-grams this long: this and longer orders stay 0
    if (s.correct[n] == 0) {
      smooth *= 2;
      s.precisions[n] = 100.0 / (smooth * double(s.total[n]));
    } else {
      s.precisions[n] = 100.0 * double(s.correct[n]) / double(s.total[n]);
    }
  }
  for (double p : s.precisions) log_sum += p > 0 ? std::log(p) : -9999999999.0;
  s.score = s.bp * std::exp(log_sum / 4.0);
}

}  // namespace

std::string BleuScore::verbose() const {
  return fmt::format("{:.1f}/{:.1f}/{:.1f}/{:.1f} (BP = {:.3f} ratio = {:.3f} hyp_len = {} ref_len = {})", precisions[0],
                     precisions[1], precisions[2], precisions[3], bp, ratio, sys_len, ref_len);
}

BleuScore sacrebleu_bleu(const std::vector<std::string>& hypotheses, const std::vector<std::vector<std::string>>& references,
                      const BleuOptions& options) {
  check_streams(hypotheses, references);
  BleuScore s;
  for (size_t k = 0; k < hypotheses.size(); ++k) {
    const auto hyp = bleu_words(hypotheses[k], options);
    Counts most;  // per n-gram, the most any one reference holds
    std::vector<int64_t> lengths;
    for (const auto& stream : references) {
      const auto ref = bleu_words(stream[k], options);
      lengths.push_back(int64_t(ref.size()));
      for (const auto& [gram, count] : word_ngrams(ref)) most[gram] = std::max(most[gram], count);
    }
    s.sys_len += int64_t(hyp.size());
    s.ref_len += closest_length(int64_t(hyp.size()), lengths);
    for (const auto& [gram, count] : word_ngrams(hyp)) {
      s.total[gram.size() - 1] += count;
      if (auto it = most.find(gram); it != most.end()) s.correct[gram.size() - 1] += std::min(count, it->second);
    }
  }
  finish_bleu(s);
  return s;
}

BleuScore corpus_bleu(const std::vector<std::string>& hypotheses, const std::vector<std::string>& references) {
  return sacrebleu_bleu(hypotheses, {references});
}

std::string bleu_signature(size_t references, const BleuOptions& o) {
  return fmt::format("nrefs:{}|case:{}|eff:no|tok:{}|smooth:exp|version:{}", references, o.lowercase ? "lc" : "mixed",
                     o.tokenize, kSacrebleuVersion);
}

}  // namespace qkv
