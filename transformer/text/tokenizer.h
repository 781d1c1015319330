// Tokenizers: SentencePiece models (text tasks) or a fixed symbol vocabulary (generated tasks); training on a text file, loading, encode/decode, and the special
// tokens every qkv model shares: pad 0, unk 1, bos 2, eos 3, then <mask>, <cls>, <sep>.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "transformer/config/config.h"

namespace qkv {

struct SpecialTokens {
  int pad = 0, unk = 1, bos = 2, eos = 3, mask = -1, cls = -1, sep = -1;
};

class Tokenizer {
 public:
  // Loads a model file; InputError when it is missing or not a SentencePiece model.
  static Tokenizer load(const std::string& path);
  // A fixed vocabulary of one-character symbols after the seven special tokens, for generated
  // tasks: encode maps each character to its symbol (spaces skipped, others unk); no model file.
  static Tokenizer symbols(const std::string& alphabet);
  // Trains on the lines of `text_file` and writes `model_path` atomically.
  static void train(const std::string& text_file, const std::string& model_path, const TokenizerConfig& config,
                    uint64_t seed);

  std::vector<int> encode(std::string_view text) const;
  std::string decode(const std::vector<int>& ids) const;
  std::string piece(int id) const;
  int vocab_size() const;
  const SpecialTokens& special() const { return special_; }
  // Of the model file's bytes; with a separate target tokenizer, of both ("source+target").
  const std::string& checksum() const { return checksum_; }
  // Translation with separate vocabularies: the target language's tokenizer (*this when joint).
  const Tokenizer& target() const { return target_ ? *target_ : *this; }
  bool has_separate_target() const { return target_ != nullptr; }
  void set_target(const Tokenizer& target);
  const std::string& path() const { return path_; }  // empty for a symbol vocabulary

 private:
  std::shared_ptr<void> processor_;  // a SentencePiece processor inside libqkv_spm.so; null: symbols
  std::string alphabet_;             // symbol vocabulary: ids 7.. in this order
  SpecialTokens special_;
  std::string checksum_, path_;
  std::shared_ptr<const Tokenizer> target_;
};

}  // namespace qkv
