// chrF and chrF++ as sacreBLEU 2.x computes them (Popović 2015, 2017).
#include <algorithm>
#include <set>
#include <unordered_map>

#include <fmt/format.h>

#include "transformer/eval/bleu.h"
#include "transformer/eval/sacrebleu_tokenize.h"
#include "transformer/util/errors.h"

namespace qkv {

namespace {

using Counts = std::unordered_map<std::string, int64_t>;

// Counts of each order: character n-grams 1..char_order (whitespace removed), then word n-grams
// 1..word_order of the words with a leading or trailing punctuation mark split off.
std::vector<Counts> ngrams(std::string line, const ChrfOptions& o) {
  if (o.lowercase) line = unicode_lower(line);
  std::vector<std::string> chars;  // code points, without whitespace
  for (const auto& word : split_whitespace(line))
    for (size_t i = 0; i < word.size();) {
      const auto c = static_cast<unsigned char>(word[i]);
      const size_t len = std::min(word.size() - i, size_t(c < 0xC0 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4));
      chars.push_back(word.substr(i, len));
      i += len;
    }
  std::vector<Counts> out;
  for (int n = 1; n <= o.char_order; ++n) {
    Counts counts;
    for (size_t i = 0; i + size_t(n) <= chars.size(); ++i) {
      std::string gram;
      for (int j = 0; j < n; ++j) gram += chars[i + size_t(j)];
      ++counts[gram];
    }
    out.push_back(std::move(counts));
  }
  if (o.word_order == 0) return out;
  static const std::set<char> kPunctuation{'!', '"', '#', '$', '%', '&', '\'', '(', ')', '*', '+', ',', '-', '.', '/', ':',
                                           ';', '<', '=', '>', '?', '@', '[', '\\', ']', '^', '_', '`', '{', '|', '}', '~'};
  std::vector<std::string> words;  // sacreBLEU splits '(hi)' into '(hi' and ')': one mark, the end's first
  for (const auto& w : split_whitespace(line)) {
    if (w.size() > 1 && kPunctuation.count(w.back())) {
      words.insert(words.end(), {w.substr(0, w.size() - 1), w.substr(w.size() - 1)});
    } else if (w.size() > 1 && kPunctuation.count(w.front())) {
      words.insert(words.end(), {w.substr(0, 1), w.substr(1)});
    } else {
      words.push_back(w);
    }
  }
  for (int n = 1; n <= o.word_order; ++n) {
    Counts counts;
    for (size_t i = 0; i + size_t(n) <= words.size(); ++i) {
      std::string gram;
      for (int j = 0; j < n; ++j) gram += (j ? " " : "") + words[i + size_t(j)];
      ++counts[gram];
    }
    out.push_back(std::move(counts));
  }
  return out;
}

// [hyp, ref, match] per order; a hypothesis n-gram counts only where the reference has any.
std::vector<int64_t> statistics(const std::vector<Counts>& hyp, const std::vector<Counts>& ref) {
  std::vector<int64_t> stats;
  for (size_t k = 0; k < hyp.size(); ++k) {
    int64_t hyp_count = 0, ref_count = 0, match = 0;
    for (const auto& [gram, count] : hyp[k]) {
      hyp_count += count;
      if (auto it = ref[k].find(gram); it != ref[k].end()) match += std::min(count, it->second);
    }
    for (const auto& [gram, count] : ref[k]) ref_count += count;
    stats.insert(stats.end(), {ref[k].empty() ? 0 : hyp_count, ref_count, match});
  }
  return stats;
}

// F-beta of precision and recall averaged over the orders that have n-grams on both sides.
double f_score(const std::vector<int64_t>& stats, int beta) {
  double precision = 0, recall = 0;
  int effective = 0;
  for (size_t k = 0; k + 2 < stats.size(); k += 3) {
    if (stats[k] == 0 || stats[k + 1] == 0) continue;
    precision += double(stats[k + 2]) / double(stats[k]);
    recall += double(stats[k + 2]) / double(stats[k + 1]);
    ++effective;
  }
  if (effective == 0) return 0.0;
  precision /= effective;
  recall /= effective;
  if (precision + recall == 0) return 0.0;
  const double b2 = double(beta * beta);
  return 100.0 * (1 + b2) * precision * recall / (b2 * precision + recall);
}

}  // namespace

double sacrebleu_chrf(const std::vector<std::string>& hypotheses, const std::vector<std::vector<std::string>>& references,
                   const ChrfOptions& options) {
  if (references.empty()) throw InputError("no reference");
  for (const auto& stream : references) {
    if (stream.size() != hypotheses.size()) {
      throw InputError(fmt::format("{} hypotheses for {} references", hypotheses.size(), stream.size()));
    }
  }
  std::vector<int64_t> total(size_t(3 * (options.char_order + options.word_order)), 0);
  for (size_t k = 0; k < hypotheses.size(); ++k) {
    const auto hyp = ngrams(hypotheses[k], options);
    std::vector<int64_t> best;
    double best_f = -1;
    for (const auto& stream : references) {  // the reference with the best sentence score
      auto stats = statistics(hyp, ngrams(stream[k], options));
      const double f = f_score(stats, options.beta);
      if (f > best_f) best_f = f, best = std::move(stats);
    }
    for (size_t i = 0; i < total.size(); ++i) total[i] += best[i];
  }
  return f_score(total, options.beta);
}

double corpus_chrf(const std::vector<std::string>& hypotheses, const std::vector<std::string>& references) {
  return sacrebleu_chrf(hypotheses, {references});
}

std::string chrf_signature(size_t references, const ChrfOptions& o) {
  return fmt::format("nrefs:{}|case:{}|eff:yes|nc:{}|nw:{}|space:no|version:{}", references, o.lowercase ? "lc" : "mixed",
                     o.char_order, o.word_order, kSacrebleuVersion);
}

std::string chrf_name(const ChrfOptions& o) { return fmt::format("chrF{}{}", o.beta, std::string(size_t(o.word_order), '+')); }

}  // namespace qkv
