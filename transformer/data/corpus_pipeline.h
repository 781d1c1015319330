// Encoding a corpus on every core in bounded memory: one thread reads documents into chunks of
// about 1 MiB of text, worker threads encode whole chunks (each line encoded, eos after each
// document), and the reading thread writes finished chunks in their order, so the tokens are the
// same for any number of threads. At most 2 chunks per worker are in flight.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "transformer/config/config.h"
#include "transformer/data/corpus.h"
#include "transformer/text/tokenizer.h"

namespace qkv {

struct EncodeJob {
  std::vector<std::string> files;
  const DataConfig* data = nullptr;
  const Tokenizer* tokenizer = nullptr;
  CorpusOptions options;
  std::vector<std::string> outputs;  // shard folders: [train] or [train, valid held out]
  double valid_fraction = 0;         // with two outputs: documents sent to the second
  uint64_t seed = 0;
  nlohmann::json manifest;           // merged into each output's manifest
  nlohmann::json resume_options;     // what an interrupted write must match to be continued
};

// Runs the job; `label` names the split in messages ("data.train"). InputError for bad sources
// and for a corpus without a document.
PreparedCorpus encode_corpus(const EncodeJob& job, const std::string& label);

// The output a document goes to: 1 (held out) with probability valid_fraction, from (seed, its
// number in the corpus) alone.
int held_out(uint64_t seed, int64_t document, double valid_fraction);

}  // namespace qkv
