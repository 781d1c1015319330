// WordPiece: the basic tokenization on ICU's character classes and normalisers, then greedy
// longest-match-first cutting.
#include "transformer/text/wordpiece.h"

#include <unicode/locid.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>

#include "transformer/util/atomic_file.h"
#include "transformer/util/errors.h"

namespace qkv {

namespace {

bool is_whitespace(UChar32 c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || u_charType(c) == U_SPACE_SEPARATOR; }

bool is_control(UChar32 c) {  // BERT: any category C*, except the three whitespace controls
  if (c == '\t' || c == '\n' || c == '\r') return false;
  switch (u_charType(c)) {
    case U_CONTROL_CHAR: case U_FORMAT_CHAR: case U_UNASSIGNED: case U_PRIVATE_USE_CHAR: case U_SURROGATE: return true;
    default: return false;
  }
}

bool is_punctuation(UChar32 c) {  // the ASCII non-alphanumerics count, whatever their category
  if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126)) return true;
  switch (u_charType(c)) {
    case U_DASH_PUNCTUATION: case U_START_PUNCTUATION: case U_END_PUNCTUATION: case U_CONNECTOR_PUNCTUATION:
    case U_OTHER_PUNCTUATION: case U_INITIAL_PUNCTUATION: case U_FINAL_PUNCTUATION: return true;
    default: return false;
  }
}

bool is_cjk(UChar32 c) {  // the CJK Unified Ideographs blocks, as BERT lists them
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
         (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

icu::UnicodeString normalize(const icu::UnicodeString& text, bool decompose) {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* n = decompose ? icu::Normalizer2::getNFDInstance(status) : icu::Normalizer2::getNFCInstance(status);
  if (U_FAILURE(status)) throw std::runtime_error(fmt::format("ICU normaliser: {}", u_errorName(status)));
  icu::UnicodeString out = n->normalize(text, status);
  if (U_FAILURE(status)) throw std::runtime_error(fmt::format("ICU normalisation: {}", u_errorName(status)));
  return out;
}

std::vector<icu::UnicodeString> split_whitespace(const icu::UnicodeString& text) {
  std::vector<icu::UnicodeString> words;
  icu::UnicodeString word;
  for (int32_t i = 0; i < text.length(); i = text.moveIndex32(i, 1)) {
    const UChar32 c = text.char32At(i);
    if (c == ' ') {
      if (!word.isEmpty()) words.push_back(word), word.remove();
    } else {
      word.append(c);
    }
  }
  if (!word.isEmpty()) words.push_back(word);
  return words;
}

}  // namespace

WordPiece WordPiece::load(const std::string& vocab_txt, const WordPieceOptions& options) {
  return parse(read_input_file(vocab_txt, "vocabulary"), vocab_txt, options);
}

WordPiece WordPiece::parse(const std::string& text, const std::string& name, const WordPieceOptions& options) {
  WordPiece w;
  w.options_ = options;
  w.text_ = text;
  std::istringstream lines(text);
  std::string line;
  for (int number = 1; std::getline(lines, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    // BERT strips each line; a piece of spaces alone could never be produced
    const auto first = line.find_first_not_of(" \t"), last = line.find_last_not_of(" \t");
    line = first == std::string::npos ? "" : line.substr(first, last - first + 1);
    if (line.empty()) throw InputError(fmt::format("{}:{}: an empty piece", name, number));
    if (!w.ids_.emplace(line, int(w.pieces_.size())).second)
      throw InputError(fmt::format("{}:{}: piece {} repeats an earlier line", name, number, line));
    w.pieces_.push_back(line);
  }
  w.unk_ = w.id("[UNK]");
  if (w.unk_ < 0) throw InputError(fmt::format("{}: the vocabulary has no [UNK] piece", name));
  return w;
}

int WordPiece::id(const std::string& piece) const {
  const auto it = ids_.find(piece);
  return it == ids_.end() ? -1 : it->second;
}

std::vector<std::string> WordPiece::basic_tokenize(std::string_view text) const {
  const icu::UnicodeString u = icu::UnicodeString::fromUTF8(icu::StringPiece(text.data(), int32_t(text.size())));
  icu::UnicodeString clean;
  for (int32_t i = 0; i < u.length(); i = u.moveIndex32(i, 1)) {
    const UChar32 c = u.char32At(i);
    if (c == 0 || c == 0xFFFD || is_control(c)) continue;
    if (is_whitespace(c)) {
      clean.append(UChar32(' '));
    } else if (options_.split_cjk && is_cjk(c)) {
      clean.append(UChar32(' ')).append(c).append(UChar32(' '));
    } else {
      clean.append(c);
    }
  }
  const bool strip = options_.strip_accents < 0 ? options_.lower_case : options_.strip_accents == 1;
  std::vector<std::string> out;
  for (icu::UnicodeString word : split_whitespace(normalize(clean, false))) {
    if (options_.lower_case) word.toLower(icu::Locale::getRoot());
    if (strip) {
      const icu::UnicodeString decomposed = normalize(word, true);
      word.remove();
      for (int32_t i = 0; i < decomposed.length(); i = decomposed.moveIndex32(i, 1)) {
        const UChar32 c = decomposed.char32At(i);
        if (u_charType(c) != U_NON_SPACING_MARK) word.append(c);
      }
    }
    icu::UnicodeString run;
    auto flush = [&] {
      if (run.isEmpty()) return;
      std::string piece;
      run.toUTF8String(piece);
      out.push_back(std::move(piece));
      run.remove();
    };
    for (int32_t i = 0; i < word.length(); i = word.moveIndex32(i, 1)) {
      const UChar32 c = word.char32At(i);
      if (is_punctuation(c)) {
        flush();
        run.append(c);
        flush();
      } else {
        run.append(c);
      }
    }
    flush();
  }
  return out;
}

std::vector<int> WordPiece::encode(std::string_view text) const {
  std::vector<int> ids;
  for (const std::string& word : basic_tokenize(text)) {
    const icu::UnicodeString u = icu::UnicodeString::fromUTF8(word);
    if (u.countChar32() > options_.max_input_chars_per_word) {
      ids.push_back(unk_);
      continue;
    }
    std::vector<int32_t> bounds;  // code-unit offsets of the characters, and the end
    for (int32_t i = 0; i < u.length(); i = u.moveIndex32(i, 1)) bounds.push_back(i);
    bounds.push_back(u.length());
    const size_t start_ids = ids.size();
    bool bad = false;
    for (size_t start = 0; start + 1 < bounds.size() && !bad;) {
      int found = -1;
      size_t end = bounds.size() - 1;
      for (; end > start; --end) {
        std::string piece = start > 0 ? "##" : "";
        u.tempSubStringBetween(bounds[start], bounds[end]).toUTF8String(piece);
        found = id(piece);
        if (found >= 0) break;
      }
      if (found < 0) {
        bad = true;
      } else {
        ids.push_back(found);
        start = end;
      }
    }
    if (bad) {
      ids.resize(start_ids);
      ids.push_back(unk_);
    }
  }
  return ids;
}

std::string WordPiece::decode(const std::vector<int>& ids) const {
  std::string out;
  for (const int id : ids) {
    const std::string& p = piece(id);
    if (p == "[PAD]") continue;
    if (p.rfind("##", 0) == 0) {
      out += p.substr(2);
    } else {
      if (!out.empty()) out += ' ';
      out += p;
    }
  }
  return out;
}

}  // namespace qkv
