// The tokenizers sacreBLEU 2.x applies before counting BLEU's word n-grams (Post 2018), so that
// qkv's scores equal the ones papers report: 13a (mteval-v13a, the default), intl (mteval-v14's
// international tokenization: punctuation and symbols split by their Unicode categories), zh (each
// CJK character a token, the rest as 13a), char (every character a token) and none. Unicode
// categories and lowercasing come from ICU.
#pragma once

#include <string>
#include <vector>

namespace qkv {

// The tokenizer names sacreBLEU's --tokenize takes, as supported here.
const std::vector<std::string>& sacrebleu_tokenizers();

// The line tokenized (tokens joined by single spaces); std::invalid_argument for an unknown name.
std::string sacrebleu_tokenize(const std::string& line, const std::string& tokenizer);

// mteval-v13a tokenization: XML entities unescaped, punctuation and symbols split off, periods
// and commas split unless between digits, dashes split after digits, single spaces.
std::string tokenize_13a(const std::string& line);

// Python's str.lower() as ICU's full lowercase mapping of the root locale.
std::string unicode_lower(const std::string& text);

// Splits on whitespace as Python's str.split() does (Unicode white space and \x1c-\x1f).
std::vector<std::string> split_whitespace(const std::string& text);

}  // namespace qkv
