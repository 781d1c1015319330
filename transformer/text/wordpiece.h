// BERT's WordPiece tokenizer (Devlin et al. 2019) as its vocab.txt and the reference BasicTokenizer
// and WordpieceTokenizer define it: control characters dropped and whitespace made a space, spaces
// put around CJK ideographs, NFC, split on whitespace; each word lower-cased and stripped of
// accents (NFD, combining marks dropped) as configured, split at every punctuation character
// (ASCII symbols and Unicode P*), then cut greedily into the longest pieces of the vocabulary,
// pieces after the first spelled with "##"; a word with no such cut, or longer than
// max_input_chars_per_word characters, is [UNK]. Character classes and normalisation are ICU's.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace qkv {

struct WordPieceOptions {
  bool lower_case = true;
  int strip_accents = -1;  // -1: as lower_case (BERT's default); 0 or 1
  bool split_cjk = true;
  int max_input_chars_per_word = 100;
};

class WordPiece {
 public:
  // vocab.txt: one piece per line, the line number (from 0) its id. InputError naming the file and
  // line for an empty or repeated piece, or a vocabulary without [UNK].
  static WordPiece load(const std::string& vocab_txt, const WordPieceOptions& options);
  static WordPiece parse(const std::string& text, const std::string& name, const WordPieceOptions& options);

  std::vector<int> encode(std::string_view text) const;
  // Pieces joined by spaces, "##" pieces glued to the one before; [PAD] left out.
  std::string decode(const std::vector<int>& ids) const;
  int vocab_size() const { return int(pieces_.size()); }
  int id(const std::string& piece) const;  // -1 when absent
  const std::string& piece(int id) const { return pieces_.at(size_t(id)); }
  const WordPieceOptions& options() const { return options_; }
  const std::string& vocab_text() const { return text_; }
  // The basic tokenization alone: the words WordPiece cuts.
  std::vector<std::string> basic_tokenize(std::string_view text) const;

 private:
  std::vector<std::string> pieces_;
  std::unordered_map<std::string, int> ids_;
  WordPieceOptions options_;
  std::string text_;
  int unk_ = -1;
};

}  // namespace qkv
