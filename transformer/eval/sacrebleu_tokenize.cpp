// sacreBLEU's tokenizers: 13a, intl, zh, char, none.
#include "transformer/eval/sacrebleu_tokenize.h"

#include <unicode/locid.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/utf8.h>

#include <stdexcept>

namespace qkv {

namespace {

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (size_t at = 0; (at = s.find(from, at)) != std::string::npos; at += to.size()) s.replace(at, from.size(), to);
}

// The code points of a UTF-8 string (an invalid byte becomes U+FFFD, as Python's replace does).
std::vector<UChar32> code_points(const std::string& s) {
  std::vector<UChar32> out;
  const auto* bytes = reinterpret_cast<const uint8_t*>(s.data());
  const int32_t length = int32_t(s.size());
  for (int32_t i = 0; i < length;) {
    UChar32 c;
    U8_NEXT(bytes, i, length, c);
    out.push_back(c < 0 ? 0xFFFD : c);
  }
  return out;
}

std::string to_utf8(const std::vector<UChar32>& cps) {
  std::string out;
  for (UChar32 c : cps) {
    uint8_t buffer[4];
    int32_t n = 0;
    U8_APPEND_UNSAFE(buffer, n, c);  // c is a valid code point: code_points() replaced the invalid
    out.append(reinterpret_cast<const char*>(buffer), size_t(n));
  }
  return out;
}

// Whitespace as Python's str.isspace(): Unicode White_Space, and the separators \x1c-\x1f.
bool is_python_space(UChar32 c) { return (c >= 0x1C && c <= 0x1F) || u_isUWhiteSpace(c); }

std::string join_words(const std::string& text) {
  std::string out;
  for (const auto& w : split_whitespace(text)) out += (out.empty() ? "" : " ") + w;
  return out;
}

// mteval's class of symbols split off as tokens: ASCII { | } ~ [ \ ] ^ _ ` space ! " # $ % &
// ( ) * + : ; < = > ? @ and /  (not the period, comma, dash or apostrophe).
bool is_split_symbol(unsigned char c) {
  return (c >= 0x7B && c <= 0x7E) || (c >= 0x5B && c <= 0x60) || (c >= 0x20 && c <= 0x26) ||
         (c >= 0x28 && c <= 0x2B) || (c >= 0x3A && c <= 0x40) || c == '/';
}
bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

// One pass of a "(A)(B) -> ..." rule over non-overlapping leftmost matches of two adjacent
// elements, as re.sub does. `match` says whether (a, b) match; `emit` writes them.
template <class T, class Match, class Emit>
std::vector<T> pair_rule(const std::vector<T>& in, Match match, Emit emit) {
  std::vector<T> out;
  size_t i = 0;
  while (i < in.size()) {
    if (i + 1 < in.size() && match(in[i], in[i + 1])) {
      emit(out, in[i], in[i + 1]);
      i += 2;
    } else {
      out.push_back(in[i++]);
    }
  }
  return out;
}

// The rules 13a and zh share (sacreBLEU's TokenizerRegexp), on bytes: a multi-byte character ends
// in a continuation byte, which is not a digit, so bytes behave as its characters would here.
std::string regexp_rules(const std::string& line) {
  std::vector<char> spaced;
  for (char c : line) {
    if (is_split_symbol(static_cast<unsigned char>(c))) spaced.insert(spaced.end(), {' ', c, ' '});
    else spaced.push_back(c);
  }
  auto u = [](char c) { return static_cast<unsigned char>(c); };
  spaced = pair_rule(spaced, [&](char a, char b) { return !is_digit(u(a)) && (b == '.' || b == ','); },
                     [](std::vector<char>& o, char a, char b) { o.insert(o.end(), {a, ' ', b, ' '}); });
  spaced = pair_rule(spaced, [&](char a, char b) { return (a == '.' || a == ',') && !is_digit(u(b)); },
                     [](std::vector<char>& o, char a, char b) { o.insert(o.end(), {' ', a, ' ', b}); });
  spaced = pair_rule(spaced, [&](char a, char b) { return is_digit(u(a)) && b == '-'; },
                     [](std::vector<char>& o, char a, char b) { o.insert(o.end(), {a, ' ', b, ' '}); });
  return join_words(std::string(spaced.begin(), spaced.end()));
}

bool is_number(UChar32 c) {
  const int8_t t = u_charType(c);
  return t == U_DECIMAL_DIGIT_NUMBER || t == U_LETTER_NUMBER || t == U_OTHER_NUMBER;
}
bool is_punctuation(UChar32 c) {
  const int8_t t = u_charType(c);
  return t == U_CONNECTOR_PUNCTUATION || t == U_DASH_PUNCTUATION || t == U_START_PUNCTUATION ||
         t == U_END_PUNCTUATION || t == U_INITIAL_PUNCTUATION || t == U_FINAL_PUNCTUATION || t == U_OTHER_PUNCTUATION;
}
bool is_symbol(UChar32 c) {
  const int8_t t = u_charType(c);
  return t == U_MATH_SYMBOL || t == U_CURRENCY_SYMBOL || t == U_MODIFIER_SYMBOL || t == U_OTHER_SYMBOL;
}

// mteval-v14's international tokenization (sacreBLEU's intl): punctuation split off unless it
// stands between digits, symbols split off; no spaces added at the ends (so "2019." stays whole).
std::string tokenize_intl(const std::string& line) {
  auto cps = code_points(line);
  cps = pair_rule(cps, [](UChar32 a, UChar32 b) { return !is_number(a) && is_punctuation(b); },
                  [](std::vector<UChar32>& o, UChar32 a, UChar32 b) { o.insert(o.end(), {a, ' ', b, ' '}); });
  cps = pair_rule(cps, [](UChar32 a, UChar32 b) { return is_punctuation(a) && !is_number(b); },
                  [](std::vector<UChar32>& o, UChar32 a, UChar32 b) { o.insert(o.end(), {' ', a, ' ', b}); });
  std::vector<UChar32> out;
  for (UChar32 c : cps) {
    if (is_symbol(c)) out.insert(out.end(), {' ', c, ' '});
    else out.push_back(c);
  }
  return join_words(to_utf8(out));
}

// The code points sacreBLEU's zh tokenizer separates. Two of its ranges are written in Python as
// '\u20000'..'\u2a6d6' and '\u2f800'..'\u2fa1d', two-character strings compared with single
// characters: they select U+2001..U+2A6D (general punctuation such as curly quotes and dashes,
// currency, arrows...) and U+2F81..U+2FA1, not CJK Extension B and the Compatibility Supplement
// their comments name. The ranges are kept as sacreBLEU evaluates them, so the scores agree.
bool is_zh_character(UChar32 c) {
  static const std::pair<UChar32, UChar32> kRanges[] = {
      {0x3400, 0x4DB5}, {0x4E00, 0x9FA5}, {0x9FA6, 0x9FBB}, {0xF900, 0xFA2D}, {0xFA30, 0xFA6A}, {0xFA70, 0xFAD9},
      {0x2001, 0x2A6D}, {0x2F81, 0x2FA1}, {0xFF00, 0xFFEF}, {0x2E80, 0x2EFF}, {0x3000, 0x303F}, {0x31C0, 0x31EF},
      {0x2F00, 0x2FDF}, {0x2FF0, 0x2FFF}, {0x3100, 0x312F}, {0x31A0, 0x31BF}, {0xFE10, 0xFE1F}, {0xFE30, 0xFE4F},
      {0x2600, 0x26FF}, {0x2700, 0x27BF}, {0x3200, 0x32FF}, {0x3300, 0x33FF}};
  for (const auto& [first, last] : kRanges)
    if (c >= first && c <= last) return true;
  return false;
}

std::string tokenize_zh(const std::string& line) {
  std::vector<UChar32> cps = code_points(line);
  size_t begin = 0, end = cps.size();  // Python's strip()
  while (begin < end && is_python_space(cps[begin])) ++begin;
  while (end > begin && is_python_space(cps[end - 1])) --end;
  std::vector<UChar32> spaced;
  for (size_t i = begin; i < end; ++i) {
    if (is_zh_character(cps[i])) spaced.insert(spaced.end(), {' ', cps[i], ' '});
    else spaced.push_back(cps[i]);
  }
  return regexp_rules(to_utf8(spaced));
}

std::string tokenize_char(const std::string& line) {
  std::string out;
  for (UChar32 c : code_points(line)) {
    if (!out.empty()) out += ' ';
    out += to_utf8({c});
  }
  return out;  // BLEU splits it on whitespace: the spaces of the line vanish
}

}  // namespace

std::vector<std::string> split_whitespace(const std::string& text) {
  std::vector<std::string> words;
  std::string word;
  const auto* bytes = reinterpret_cast<const uint8_t*>(text.data());
  const int32_t length = int32_t(text.size());
  for (int32_t i = 0; i < length;) {
    const int32_t start = i;
    UChar32 c;
    U8_NEXT(bytes, i, length, c);
    if (c >= 0 && is_python_space(c)) {
      if (!word.empty()) words.push_back(std::move(word)), word.clear();
    } else {
      word.append(text, size_t(start), size_t(i - start));
    }
  }
  if (!word.empty()) words.push_back(std::move(word));
  return words;
}

std::string tokenize_13a(const std::string& input) {
  std::string line = input;
  replace_all(line, "<skipped>", "");
  replace_all(line, "-\n", "");
  replace_all(line, "\n", " ");
  replace_all(line, "&quot;", "\"");
  replace_all(line, "&amp;", "&");
  replace_all(line, "&lt;", "<");
  replace_all(line, "&gt;", ">");
  return regexp_rules(" " + line + " ");
}

std::string unicode_lower(const std::string& text) {
  std::string out;
  icu::UnicodeString::fromUTF8(text).toLower(icu::Locale::getRoot()).toUTF8String(out);
  return out;
}

const std::vector<std::string>& sacrebleu_tokenizers() {
  static const std::vector<std::string> names{"13a", "intl", "zh", "char", "none"};
  return names;
}

std::string sacrebleu_tokenize(const std::string& line, const std::string& tokenizer) {
  if (tokenizer == "13a") return tokenize_13a(line);
  if (tokenizer == "intl") return tokenize_intl(line);
  if (tokenizer == "zh") return tokenize_zh(line);
  if (tokenizer == "char") return tokenize_char(line);
  if (tokenizer == "none") return line;
  throw std::invalid_argument("unknown tokenizer " + tokenizer + " (13a, intl, zh, char, none)");
}

}  // namespace qkv
