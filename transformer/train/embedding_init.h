// Token embeddings initialised from word vectors (model.embedding_init): each piece of the
// tokenizer whose word the vector file holds (SentencePiece's "▁word", GPT-2's "Ġword", BERT's
// "word", compared lower-cased; where a vocabulary marks word starts, only word-initial pieces)
// starts from that word's vector; vectors of another size go through
// a fixed random Gaussian projection; matched rows are scaled so their mean norm is the mean norm
// of the model's freshly initialised rows, keeping the init scale the rest of the model expects.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "transformer/train/word2vec.h"

namespace qkv {

struct EmbeddingInitReport {
  int64_t matched = 0, pieces = 0;
  std::vector<std::string> examples;  // the first few matched pieces, for the message
};

// Whether a piece opens a word by its vocabulary's marker (SentencePiece's U+2581, GPT-2's U+0120).
bool marks_word_start(const std::string& piece);
// The piece without that marker.
std::string strip_word_marker(const std::string& piece);
// The word a piece stands for, as vector files spell words: marker stripped, lower-cased ASCII.
std::string piece_word(const std::string& piece);

// Writes rows of `weight` (V, C) for the matched pieces (pieces[i] is row i), without autograd.
EmbeddingInitReport init_embedding_rows(torch::Tensor weight, const std::vector<std::string>& pieces, const WordVectors& vectors,
                                        uint64_t seed);

}  // namespace qkv
