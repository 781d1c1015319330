// GPT-2's byte-level BPE (Radford et al. 2019), as its vocab.json and merges.txt define it: text is
// split by GPT-2's pre-tokenization pattern (contractions, runs of letters, of digits, of other
// symbols, each with one leading space, and whitespace), each piece's UTF-8 bytes are merged by
// rank, and every byte has its own id, so no text is out of vocabulary. The pattern runs on ICU's
// regular expressions with ICU's Unicode letter and number classes; whitespace is the
// ECMAScript \s (the reference encoder here is the JavaScript one of the npm package
// gpt-3-encoder). Words already seen are cached per thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace qkv {

class ByteLevelBpe {
 public:
  // vocab.json (piece -> id, pieces in GPT-2's byte-to-character mapping) and merges.txt (one
  // "a b" per line by rank, after an optional "#version" line). InputError naming the file, the
  // line or byte, and what is wrong.
  static ByteLevelBpe load(const std::string& vocab_json, const std::string& merges_txt);
  // The same from the files' contents; the names are for messages.
  static ByteLevelBpe parse(const std::string& vocab_text, const std::string& vocab_json, const std::string& merges_text,
                            const std::string& merges_txt);
  // The files' contents as loaded (qkv keeps them in a run's tokenizer and exports them).
  const std::string& vocab_text() const { return vocab_text_; }
  const std::string& merges_text() const { return merges_text_; }

  std::vector<int> encode(std::string_view text) const;
  // The bytes of the pieces, concatenated (not necessarily whole UTF-8 characters when the ids
  // end inside one). std::out_of_range for an id outside the vocabulary.
  std::string decode(const std::vector<int>& ids) const;
  int vocab_size() const { return int(bytes_.size()); }
  // The id of a piece given in vocab.json's spelling ("<|endoftext|>", "Ġthe"), or -1.
  int id(const std::string& piece) const;
  // A piece in vocab.json's spelling.
  std::string piece(int id) const;
  // The pre-tokenization alone: the pieces BPE runs on, as UTF-8.
  static std::vector<std::string> pretokenize(std::string_view text);

 private:
  void merge_word(const std::string& word, std::vector<int>* out) const;

  std::vector<std::string> bytes_;                 // id -> the piece's raw bytes
  std::unordered_map<std::string, int> ids_;       // raw bytes -> id
  std::unordered_map<uint64_t, uint64_t> merges_;  // (left id, right id) -> (rank, merged id)
  int byte_ids_[256] = {};                         // each byte's own id
  uint64_t instance_ = 0;
  std::string vocab_text_, merges_text_;                          // keys the per-thread word cache
};

}  // namespace qkv
