// Preparing language-modelling corpora into token shards, and opening them.
#include "transformer/data/corpus.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <set>

#include <fmt/format.h>

#include "transformer/data/corpus_pipeline.h"
#include "transformer/data/documents.h"
#include "transformer/util/checksum.h"
#include "transformer/util/errors.h"
#include "transformer/util/expand_paths.h"

namespace qkv {

namespace fs = std::filesystem;

namespace {

// The split's own sources; valid held out of train comes from train's.
const Paths& split_paths(const DataConfig& data, const std::string& split) {
  if (split == "train") return data.train;
  if (split == "test") return data.test;
  return data.valid.empty() && data.valid_fraction > 0 ? data.train : data.valid;
}

bool held_out_valid(const DataConfig& data, const std::string& split) {
  return data.valid.empty() && data.valid_fraction > 0 && split != "test";
}

std::vector<std::string> corpus_files(const DataConfig& data, const std::string& split) {
  const auto& paths = split_paths(data, split);
  const ExpandedPaths expanded = expand_paths(paths.items);
  if (!expanded.problem.empty()) throw InputError(fmt::format("data.{}: {}", split, expanded.problem));
  std::vector<std::string> files;
  for (const auto& f : expanded.files) files.push_back(fs::absolute(f).lexically_normal().string());
  return files;
}

// size, modification time and the crc32 of the first and last 64 KiB.
nlohmann::json fingerprint(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return {{"path", path}, {"missing", true}};
  const int64_t size = int64_t(st.st_size);
  std::ifstream in(path, std::ios::binary);
  std::string head(size_t(std::min<int64_t>(size, 1 << 16)), '\0'), tail = head;
  in.read(head.data(), std::streamsize(head.size()));
  in.seekg(std::max<int64_t>(0, size - int64_t(tail.size())));
  in.read(tail.data(), std::streamsize(tail.size()));
  return {{"path", path},
          {"size", size},
          {"mtime_ns", int64_t(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec},
          {"ends_crc32", crc32_of(tail.data(), tail.size(), crc32_of(head.data(), head.size()))}};
}

nlohmann::json split_options(const DataConfig& data, int64_t seed, const std::string& split, const std::string& tokenizer_checksum,
                             const std::vector<std::string>& files) {
  nlohmann::json o{{"format", data.format == DataFormat::kJsonl ? "jsonl" : "text"},
                   {"documents", choice_name(documents_choices(), data.documents)},
                   {"tokenizer", tokenizer_checksum},
                   {"sources", files}};
  if (data.format == DataFormat::kJsonl) o["text_field"] = data.text_field;
  if (held_out_valid(data, split)) o["valid_fraction"] = data.valid_fraction, o["seed"] = seed;
  return o;
}

// data.cache, or $QKV_DATA_CACHE when the experiment leaves data.cache at its default (the test
// suite points it into the build tree, so scratch corpora do not pile up beside the real data).
std::string cache_root(const DataConfig& data) {
  static const DataConfig defaults;
  const char* env = std::getenv("QKV_DATA_CACHE");
  return data.cache == defaults.cache && env && *env ? std::string(env) : data.cache;
}

std::string dir_for(const DataConfig& data, const std::string& split, const nlohmann::json& options,
                    const std::vector<std::string>& files) {
  std::string stem = files.empty() ? "corpus" : fs::path(files.front()).filename().string();
  for (char& c : stem)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') c = '_';
  const std::string key = checksum_hex(options.dump()).substr(0, 12);
  return (fs::path(cache_root(data)) / fmt::format("{}-{}-{}", split, stem.substr(0, 40), key)).string();
}

// What in the manifest no longer holds: the tokenizer's checksum, or a source's fingerprint.
void check_unchanged(const TokenShards& shards, const std::string& dir, const Tokenizer& tokenizer,
                     const std::vector<std::string>& files) {
  const auto& m = shards.manifest();
  if (m.value("tokenizer_checksum", "") != tokenizer.checksum()) {
    throw InputError(fmt::format("{}: prepared with tokenizer {} of checksum {}, which is now {}; --rebuild-data prepares "
                                 "the corpus again", dir, m.value("tokenizer_path", "?"), m.value("tokenizer_checksum", "?"),
                                 tokenizer.checksum()));
  }
  const auto& sources = m.at("source_fingerprints");
  for (size_t i = 0; i < files.size() && i < sources.size(); ++i) {
    const auto now = fingerprint(files[i]);
    for (const char* field : {"size", "mtime_ns", "ends_crc32"}) {
      if (now.value(field, int64_t(-1)) != sources[i].value(field, int64_t(-2))) {
        throw InputError(fmt::format("{}: changed since {} was prepared ({} was {}, now {}); --rebuild-data prepares the "
                                     "corpus again", files[i], dir, field, sources[i].value(field, int64_t(-1)),
                                     now.value(field, int64_t(-1))));
      }
    }
  }
}

}  // namespace

CorpusOptions& corpus_defaults() {
  static CorpusOptions options = [] {
    CorpusOptions o;
    // For the fault battery: small shards, so that a prepare can be stopped between them.
    if (const char* tokens = std::getenv("QKV_SHARD_TOKENS")) o.shard_tokens = std::max<int64_t>(1, std::atoll(tokens));
    return o;
  }();
  return options;
}

bool corpus_has_split(const DataConfig& data, const std::string& split) { return !split_paths(data, split).empty(); }

std::string corpus_dir(const DataConfig& data, int64_t seed, const std::string& split, const std::string& tokenizer_checksum) {
  const auto files = corpus_files(data, split);
  return dir_for(data, split, split_options(data, seed, split, tokenizer_checksum, files), files);
}

PreparedCorpus prepare_corpus(const DataConfig& data, int64_t seed, const std::string& split, const Tokenizer& tokenizer,
                              const CorpusOptions& options) {
  const std::string own = held_out_valid(data, split) ? "train" : split;  // valid held out is made with train
  const auto files = corpus_files(data, own);
  EncodeJob job;
  job.files = files;
  job.data = &data;
  job.tokenizer = &tokenizer;
  job.options = options;
  job.outputs.push_back(dir_for(data, own, split_options(data, seed, own, tokenizer.checksum(), files), files));
  if (held_out_valid(data, own)) {
    job.outputs.push_back(dir_for(data, "valid", split_options(data, seed, "valid", tokenizer.checksum(), files), files));
    job.valid_fraction = data.valid_fraction;
    job.seed = uint64_t(seed);
  }
  nlohmann::json manifest{{"split", own}, {"tokenizer_path", tokenizer.path()}, {"tokenizer_checksum", tokenizer.checksum()}};
  manifest["source_fingerprints"] = nlohmann::json::array();
  for (const auto& f : files) manifest["source_fingerprints"].push_back(fingerprint(f));
  job.manifest = manifest;
  job.resume_options = split_options(data, seed, own, tokenizer.checksum(), files);
  const PreparedCorpus result = encode_corpus(job, fmt::format("data.{}", own));
  const size_t wanted = split == own ? 0 : 1;
  PreparedCorpus out = result;
  out.dir = job.outputs[wanted];
  return out;
}

PreparedCorpus prepare_if_needed(const DataConfig& data, int64_t seed, const std::string& split, const Tokenizer& tokenizer,
                                 const CorpusOptions& options) {
  const ShardState state = shard_state(corpus_dir(data, seed, split, tokenizer.checksum()));
  if (!options.rebuild && state == ShardState::kCurrent) return {};
  CorpusOptions again = options;
  again.rebuild = options.rebuild || state == ShardState::kOtherFormat;
  return prepare_corpus(data, seed, split, tokenizer, again);
}

std::shared_ptr<TokenShards> open_corpus(const DataConfig& data, int64_t seed, const std::string& split,
                                         const Tokenizer& tokenizer, const CorpusOptions& options) {
  const auto files = corpus_files(data, held_out_valid(data, split) ? "train" : split);
  const std::string dir = corpus_dir(data, seed, split, tokenizer.checksum());
  prepare_if_needed(data, seed, split, tokenizer, options);
  auto shards = std::make_shared<TokenShards>(dir);
  check_unchanged(*shards, dir, tokenizer, files);
  return shards;
}

void write_line_sample(const DataConfig& data, const std::string& split, int64_t max_lines, uint64_t seed,
                       const std::string& path) {
  DocumentReader reader(corpus_files(data, split), data);
  std::vector<std::string> sample, lines;
  std::mt19937_64 rng(seed ^ 0x5A3D1E5ULL);
  int64_t seen = 0;
  while (reader.next(lines)) {
    for (auto& line : lines) {
      ++seen;
      if (int64_t(sample.size()) < max_lines) {
        sample.push_back(std::move(line));
      } else if (const uint64_t j = rng() % uint64_t(seen); j < uint64_t(max_lines)) {
        sample[size_t(j)] = std::move(line);  // reservoir sampling (Vitter's algorithm R)
      }
    }
  }
  if (sample.empty()) throw InputError(fmt::format("data.{}: no text to train a tokenizer on", split));
  std::ofstream out(path, std::ios::binary);
  for (const auto& line : sample) out << line << '\n';
  if (!out.flush()) throw std::runtime_error(path + ": cannot write the tokenizer's sample");
}

std::string corpus_cache_root(const DataConfig& data) { return cache_root(data); }

}  // namespace qkv
