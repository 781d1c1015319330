// Language-modelling corpora at any size: a split's sources (data.train, data.valid, data.test:
// files, folders, globs; plain text or JSON Lines; gzip or Zstandard) are encoded once, on every
// core, into token shards in data.cache, and every command memory-maps them afterwards.
//
// A split's shard folder is data.cache/SPLIT-NAME-KEY, KEY a hash of what decides its tokens: the
// expanded source paths, the tokenizer's path, data.documents, data.text_field, the format and
// the held-out fraction with its seed. Its manifest records what they were made from: the
// tokenizer's checksum and each source's fingerprint (size, modification time and the crc32 of
// its first and last 64 KiB; a content hash would read the whole corpus at every start). Opening
// a folder whose tokenizer or sources have changed stops with the change named, unless asked to
// rebuild.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "transformer/config/config.h"
#include "transformer/data/token_shards.h"
#include "transformer/text/tokenizer.h"

namespace qkv {

struct CorpusOptions {
  int64_t threads = 0;   // encoding threads; 0: every core
  bool rebuild = false;  // prepare again whatever is there
  bool quiet = false;    // no progress line
  int64_t shard_tokens = int64_t(1) << 27;  // a shard closes past this many tokens (256 MiB of uint16)
};

// What was prepared: the folder, its tokens and documents, and the seconds and bytes it took.
struct PreparedCorpus {
  std::string dir;
  int64_t tokens = 0, documents = 0, bytes = 0;
  double seconds = 0;
  bool fresh = false;  // encoded now, rather than found prepared
};

// The shard folder of a split ("train", "valid", "test") of the experiment's data section for a
// tokenizer: named by a hash of the sources, the document options and the tokenizer's checksum,
// so a run's copy of the tokenizer finds the shards its training prepared, and another tokenizer
// (a retrained one) gets its own instead of stale ones.
std::string corpus_dir(const DataConfig& data, int64_t seed, const std::string& split, const std::string& tokenizer_checksum);

// Encodes the split into its folder now (with data.valid_fraction, preparing train also prepares
// the held-out valid); InputError for bad sources and an empty corpus.
PreparedCorpus prepare_corpus(const DataConfig& data, int64_t seed, const std::string& split, const Tokenizer& tokenizer,
                              const CorpusOptions& options);

// Prepares the split when options.rebuild asks, when it has no shards, or when an older qkv wrote
// them (derived data: redone whole without being asked); fresh is false when nothing was encoded.
PreparedCorpus prepare_if_needed(const DataConfig& data, int64_t seed, const std::string& split, const Tokenizer& tokenizer,
                                 const CorpusOptions& options);

// The split's shards, prepared first when missing (or options.rebuild: prepared again); InputError
// naming the source or the tokenizer when a prepared corpus no longer matches them.
std::shared_ptr<TokenShards> open_corpus(const DataConfig& data, int64_t seed, const std::string& split,
                                         const Tokenizer& tokenizer, const CorpusOptions& options);

// Whether the split has sources: its own paths, or valid held out of train.
bool corpus_has_split(const DataConfig& data, const std::string& split);

// At most max_lines lines of the split's documents, sampled uniformly (reservoir sampling keyed
// by seed) and written to `path`, one per line: what a tokenizer trains on, in bounded memory
// whatever the corpus size.
void write_line_sample(const DataConfig& data, const std::string& split, int64_t max_lines, uint64_t seed,
                       const std::string& path);

// Process-wide defaults for the commands (--rebuild-data, train.threads).
CorpusOptions& corpus_defaults();

// Where prepared corpora live: data.cache, or $QKV_DATA_CACHE when data.cache is the default.
std::string corpus_cache_root(const DataConfig& data);

}  // namespace qkv
