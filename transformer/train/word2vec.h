// Word vectors by skip-gram with negative sampling (Mikolov et al. 2013, "Distributed
// Representations of Words and Phrases"): every word predicts the words within a random window
// around it against `negatives` words drawn from the unigram distribution raised to 3/4, frequent
// words subsampled (kept with probability (sqrt(f/t) + 1) t/f), plain SGD with the learning rate
// decaying linearly to 1e-4 of its start. Vectors are written in word2vec's text format.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

namespace qkv {

struct Word2VecOptions {
  int64_t dim = 100;
  int64_t window = 5;       // the largest window; each centre draws its own from 1..window
  int64_t negatives = 5;
  int64_t min_count = 5;    // rarer words are dropped before training
  double subsample = 1e-4;  // t; 0 keeps every word
  int64_t epochs = 1;
  double lr = 0.025;
  int64_t batch = 1024;     // (centre, context) pairs per step
  uint64_t seed = 1;
};

struct WordVectors {
  std::vector<std::string> words;  // by descending count
  std::vector<int64_t> counts;
  torch::Tensor vectors;           // (V, dim) float32: the input (centre) embeddings
  int64_t index(const std::string& word) const;  // -1 when absent
};

// Words of a line as word2vec's corpora take them: lower-cased, split at anything that is not a
// letter, digit, apostrophe or a byte of a multi-byte UTF-8 character.
std::vector<std::string> word2vec_words(const std::string& line);

// Trains on sentences (one vector of words each). `progress` (may be null) is told the fraction done.
WordVectors train_word2vec(const std::vector<std::vector<std::string>>& sentences, const Word2VecOptions& options,
                           void (*progress)(double fraction, double loss) = nullptr);

// word2vec's text format: "V dim", then one "word v1 ... vdim" line per word.
void write_word_vectors(const WordVectors& vectors, const std::string& path);
// Reads that format (GloVe's, without the header line, too); InputError naming file:line on a bad line.
WordVectors read_word_vectors(const std::string& path);

// Cosine similarity of two rows of `vectors`.
double cosine(const WordVectors& vectors, int64_t a, int64_t b);

}  // namespace qkv
