// BLEU (13a, exp smoothing) and chrF2, matching sacreBLEU's defaults.
#include "transformer/eval/bleu.h"

#include <cmath>
#include <map>
#include <unordered_map>

#include <fmt/format.h>

#include "transformer/util/errors.h"

namespace qkv {

namespace {

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (size_t at = 0; (at = s.find(from, at)) != std::string::npos; at += to.size()) s.replace(at, from.size(), to);
}

// mteval's class of symbols split off as tokens: ASCII { | } ~ [ \ ] ^ _ ` space ! " # $ % &
// ( ) * + : ; < = > ? @ and /  (not the period, comma, dash or apostrophe).
bool is_split_symbol(unsigned char c) {
  return (c >= 0x7B && c <= 0x7E) || (c >= 0x5B && c <= 0x60) || (c >= 0x20 && c <= 0x26) ||
         (c >= 0x28 && c <= 0x2B) || (c >= 0x3A && c <= 0x40) || c == '/';
}
bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

// Length in bytes of the UTF-8 sequence starting with c (1 for stray bytes).
size_t utf8_length(unsigned char c) { return c < 0xC0 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4; }

// Whether the code point at s[i] is whitespace as Python's str.split() sees it; *len its bytes.
bool is_space_at(const std::string& s, size_t i, size_t* len) {
  const auto c = static_cast<unsigned char>(s[i]);
  *len = std::min(utf8_length(c), s.size() - i);
  if (c == ' ' || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F)) return true;
  const std::string cp = s.substr(i, *len);
  static const char* const kSpaces[] = {"\xC2\x85", "\xC2\xA0", "\xE1\x9A\x80", "\xE2\x80\xA8", "\xE2\x80\xA9",
                                        "\xE2\x80\xAF", "\xE2\x81\x9F", "\xE3\x80\x80"};
  for (const char* space : kSpaces)
    if (cp == space) return true;
  return *len == 3 && c == 0xE2 && static_cast<unsigned char>(s[i + 1]) == 0x80 &&
         static_cast<unsigned char>(s[i + 2]) >= 0x80 && static_cast<unsigned char>(s[i + 2]) <= 0x8A;  // U+2000..U+200A
}

std::vector<std::string> split_words(const std::string& s) {
  std::vector<std::string> words;
  std::string word;
  for (size_t i = 0; i < s.size();) {
    size_t len = 1;
    if (is_space_at(s, i, &len)) {
      if (!word.empty()) words.push_back(std::move(word)), word.clear();
    } else {
      word.append(s, i, len);
    }
    i += len;
  }
  if (!word.empty()) words.push_back(std::move(word));
  return words;
}

// One pass of "(A)(B) -> \1 \2" style rules over non-overlapping leftmost matches of two
// adjacent bytes, as re.sub does. `match` says whether bytes (a, b) match; `emit` writes them.
template <class Match, class Emit>
std::string pair_rule(const std::string& in, Match match, Emit emit) {
  std::string out;
  size_t i = 0;
  while (i < in.size()) {
    if (i + 1 < in.size() && match(static_cast<unsigned char>(in[i]), static_cast<unsigned char>(in[i + 1]))) {
      emit(out, in[i], in[i + 1]);
      i += 2;
    } else {
      out += in[i++];
    }
  }
  return out;
}

}  // namespace

std::string tokenize_13a(const std::string& input) {
  std::string line = input;
  replace_all(line, "<skipped>", "");
  replace_all(line, "-\n", "");
  replace_all(line, "\n", " ");
  replace_all(line, "&quot;", "\"");
  replace_all(line, "&amp;", "&");
  replace_all(line, "&lt;", "<");
  replace_all(line, "&gt;", ">");
  line = " " + line + " ";
  std::string spaced;
  for (char c : line) {
    if (is_split_symbol(static_cast<unsigned char>(c))) spaced += std::string(" ") + c + " ";
    else spaced += c;
  }
  // A multi-byte character ends in a continuation byte, which is not a digit: treating bytes like
  // characters gives the same result in these rules.
  spaced = pair_rule(spaced, [](unsigned char a, unsigned char b) { return !is_digit(a) && (b == '.' || b == ','); },
                     [](std::string& o, char a, char b) { o += a, o += ' ', o += b, o += ' '; });
  spaced = pair_rule(spaced, [](unsigned char a, unsigned char b) { return (a == '.' || a == ',') && !is_digit(b); },
                     [](std::string& o, char a, char b) { o += ' ', o += a, o += ' ', o += b; });
  spaced = pair_rule(spaced, [](unsigned char a, unsigned char b) { return is_digit(a) && b == '-'; },
                     [](std::string& o, char a, char b) { o += a, o += ' ', o += b, o += ' '; });
  std::string out;
  for (const auto& w : split_words(spaced)) out += (out.empty() ? "" : " ") + w;
  return out;
}

std::string BleuScore::verbose() const {
  return fmt::format("{:.1f}/{:.1f}/{:.1f}/{:.1f} (BP = {:.3f} ratio = {:.3f} hyp_len = {} ref_len = {})", precisions[0],
                     precisions[1], precisions[2], precisions[3], bp, ratio, sys_len, ref_len);
}

BleuScore corpus_bleu(const std::vector<std::string>& hypotheses, const std::vector<std::string>& references) {
  if (hypotheses.size() != references.size()) {
    throw InputError(fmt::format("{} hypotheses for {} references", hypotheses.size(), references.size()));
  }
  BleuScore s;
  for (size_t k = 0; k < hypotheses.size(); ++k) {
    auto rstrip = [](std::string t) {
      while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back()))) t.pop_back();
      return t;
    };
    const auto hyp = split_words(tokenize_13a(rstrip(hypotheses[k])));
    const auto ref = split_words(tokenize_13a(rstrip(references[k])));
    s.sys_len += int64_t(hyp.size());
    s.ref_len += int64_t(ref.size());
    for (size_t n = 1; n <= 4; ++n) {
      std::map<std::vector<std::string>, int64_t> ref_counts, hyp_counts;
      for (size_t i = 0; i + n <= ref.size(); ++i) ref_counts[{ref.begin() + long(i), ref.begin() + long(i + n)}] += 1;
      for (size_t i = 0; i + n <= hyp.size(); ++i) hyp_counts[{hyp.begin() + long(i), hyp.begin() + long(i + n)}] += 1;
      for (const auto& [gram, count] : hyp_counts) {
        s.total[n - 1] += count;
        auto it = ref_counts.find(gram);
        if (it != ref_counts.end()) s.correct[n - 1] += std::min(count, it->second);  // clipped counts
      }
    }
  }
  s.ratio = s.ref_len > 0 ? double(s.sys_len) / double(s.ref_len) : 0.0;
  s.bp = s.sys_len < s.ref_len ? (s.sys_len > 0 ? std::exp(1.0 - double(s.ref_len) / double(s.sys_len)) : 0.0) : 1.0;
  bool any = false;
  for (int64_t c : s.correct) any = any || c > 0;
  if (!any) return s;  // no match at all: 0
  double smooth = 1.0, log_sum = 0;
  bool truncated = false;
  for (size_t n = 0; n < 4; ++n) {
    if (s.total[n] == 0) truncated = true;  // no n-grams this long: the precision stays 0
    if (truncated) continue;
    if (s.correct[n] == 0) {
      smooth *= 2;  // exponential smoothing: 1 / 2^k for the k-th order without a match (mteval)
      s.precisions[n] = 100.0 / (smooth * double(s.total[n]));
    } else {
      s.precisions[n] = 100.0 * double(s.correct[n]) / double(s.total[n]);
    }
  }
  for (double p : s.precisions) log_sum += p > 0 ? std::log(p) : -9999999999.0;
  s.score = s.bp * std::exp(log_sum / 4.0);
  return s;
}

double corpus_chrf(const std::vector<std::string>& hypotheses, const std::vector<std::string>& references) {
  if (hypotheses.size() != references.size()) {
    throw InputError(fmt::format("{} hypotheses for {} references", hypotheses.size(), references.size()));
  }
  constexpr int kOrder = 6;
  constexpr double kBetaSquared = 4.0;
  std::array<int64_t, kOrder> hyp_total{}, ref_total{}, matches{};
  auto characters = [](const std::string& text) {  // code points, whitespace left out
    std::vector<std::string> out;
    for (size_t i = 0; i < text.size();) {
      size_t len = 1;
      if (!is_space_at(text, i, &len)) out.push_back(text.substr(i, len));
      i += len;
    }
    return out;
  };
  for (size_t k = 0; k < hypotheses.size(); ++k) {
    const auto hyp = characters(hypotheses[k]);
    const auto ref = characters(references[k]);
    for (int n = 1; n <= kOrder; ++n) {
      std::unordered_map<std::string, int64_t> ref_counts, hyp_counts;
      auto gram = [&](const std::vector<std::string>& chars, size_t i) {
        std::string g;
        for (int j = 0; j < n; ++j) g += chars[i + size_t(j)];
        return g;
      };
      for (size_t i = 0; i + size_t(n) <= ref.size(); ++i) ref_counts[gram(ref, i)] += 1;
      for (size_t i = 0; i + size_t(n) <= hyp.size(); ++i) hyp_counts[gram(hyp, i)] += 1;
      int64_t hyp_count = 0, ref_count = 0, match = 0;
      for (const auto& [g, c] : hyp_counts) {
        hyp_count += c;
        auto it = ref_counts.find(g);
        if (it != ref_counts.end()) match += std::min(c, it->second);
      }
      for (const auto& [g, c] : ref_counts) ref_count += c;
      hyp_total[size_t(n - 1)] += ref_counts.empty() ? 0 : hyp_count;  // as sacreBLEU: no reference n-grams, no count
      ref_total[size_t(n - 1)] += ref_count;
      matches[size_t(n - 1)] += match;
    }
  }
  double precision = 0, recall = 0;
  int effective = 0;
  for (int n = 0; n < kOrder; ++n) {
    if (hyp_total[size_t(n)] == 0 || ref_total[size_t(n)] == 0) continue;
    precision += double(matches[size_t(n)]) / double(hyp_total[size_t(n)]);
    recall += double(matches[size_t(n)]) / double(ref_total[size_t(n)]);
    ++effective;
  }
  if (effective == 0) return 0.0;
  precision /= effective;
  recall /= effective;
  if (precision + recall == 0) return 0.0;
  return 100.0 * (1 + kBetaSquared) * precision * recall / (kBetaSquared * precision + recall);
}

}  // namespace qkv
