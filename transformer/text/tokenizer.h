// Tokenizers: SentencePiece models (text tasks, trained by qkv), GPT-2's byte-level BPE and BERT's
// WordPiece (pretrained models' vocabularies), or a fixed symbol vocabulary (generated tasks);
// training, loading, encode/decode, and the special roles: a SentencePiece model trained by qkv
// has pad 0, unk 1, bos 2, eos 3, then <mask>, <cls>, <sep>; GPT-2 uses <|endoftext|> for pad,
// unk, bos and eos; BERT maps [PAD], [UNK], [MASK], [CLS] (also bos) and [SEP] (also eos).
//
// A run keeps its tokenizer in one file, tokenizer.model: the SentencePiece model itself, or for
// the other kinds a JSON object {"qkv_tokenizer": KIND, ...} holding the vocabulary files' text
// and options; load() tells them apart by their first byte.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "transformer/config/config.h"

namespace qkv {

class ByteLevelBpe;
class WordPiece;

struct SpecialTokens {
  int pad = 0, unk = 1, bos = 2, eos = 3, mask = -1, cls = -1, sep = -1;
};

class Tokenizer {
 public:
  // Loads a model file; InputError when it is missing or not a SentencePiece model.
  static Tokenizer load(const std::string& path);
  // The experiment's tokenizer.kind from its files: a SentencePiece model (load), GPT-2's vocab.json
  // with merges.txt (tokenizer.merges, else beside it), or BERT's vocab.txt.
  static Tokenizer load(const TokenizerConfig& config);
  // A tokenizer from a run's tokenizer.model bytes (any kind); `name` stands for the file.
  static Tokenizer from_bytes(const std::string& bytes, const std::string& name);
  // What a run keeps for GPT-2's files and for BERT's: the same bytes from the same files.
  static std::string bpe_bundle(const std::string& vocab_json, const std::string& merges_txt);
  static std::string wordpiece_bundle(const std::string& vocab_txt, bool lower_case);
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
  TokenizerKind kind() const { return kind_; }
  // What a run keeps as its tokenizer.model (empty for a symbol vocabulary).
  const std::string& bytes() const { return bytes_; }
  // A SentencePiece model's normalisation rule as it was trained (its normalizer_spec name:
  // nmt_nfkc, identity, ...); empty for the other kinds or when the model does not say.
  std::string normalization_rule() const;
  const ByteLevelBpe* bpe() const { return bpe_.get(); }
  const WordPiece* wordpiece() const { return wordpiece_.get(); }

 private:
  static Tokenizer from_bundle(const std::string& bytes, const std::string& path);
  void finish_bundle(const std::string& bytes, const std::string& path);

  std::shared_ptr<void> processor_;  // a SentencePiece processor inside libqkv_spm.so
  std::shared_ptr<const ByteLevelBpe> bpe_;
  std::shared_ptr<const WordPiece> wordpiece_;
  TokenizerKind kind_ = TokenizerKind::kSentencePiece;
  std::string bytes_;
  std::string alphabet_;             // symbol vocabulary: ids 7.. in this order
  SpecialTokens special_;
  std::string checksum_, path_;
  std::shared_ptr<const Tokenizer> target_;
};

}  // namespace qkv
