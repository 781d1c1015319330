// Token shards: a corpus split encoded once into flat little-endian token files that every
// command memory-maps. A shard set is a folder holding shard-NNNNN.bin (token ids, uint16 when
// the vocabulary fits, else uint32), shard-NNNNN.docs (uint64 token offsets, within the split,
// of the documents that start in the shard), shard-NNNNN.crc (crc32 of each 64 KiB of the .bin) and
// manifest.json, written last: a folder without a valid manifest is never read as a corpus.
//
// Shards are written under temporary names, flushed and renamed; a reader checks each shard's
// size when it opens the set and each 64 KiB's crc32 the first time it reads from it, so a truncated
// or damaged shard stops the run with its name, the bytes and both checksums. Pages a read
// touched are unmapped again after it (the kernel's page cache keeps them), so resident memory
// stays that of a batch however much of the corpus training reads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace qkv {

inline constexpr int kShardFormat = 2;
// Bytes a crc32 covers: small, because training reads blocks of a few hundred tokens from
// random places and checks a page whole the first time. Format 1 had 1 MiB pages: training
// tokens/s on a 4 GB corpus was 0.80 of that on 16 MB; with 64 KiB pages 0.96 (medians of 3).
inline constexpr int64_t kShardPage = int64_t(1) << 16;

struct ShardInfo {
  std::string file;  // shard-NNNNN.bin, relative to the set's folder
  int64_t tokens = 0, documents = 0;
  uint32_t crc = 0;  // of the whole file
};

// Writes a shard set: documents are appended in order; a shard closes at max_tokens. finish()
// writes the manifest (with `extra` merged in) last.
class ShardWriter {
 public:
  ShardWriter(std::string dir, int bytes_per_token, int64_t max_tokens);
  ~ShardWriter();
  // The folder's complete shards of an earlier, interrupted write with the same options: kept and
  // continued from (each closed shard is recorded in progress.json). Returns the documents they
  // hold, which the caller skips.
  int64_t resume(const nlohmann::json& options);
  void append(const std::vector<int32_t>& tokens, int64_t documents_in_it, const std::vector<int64_t>& document_starts);
  void finish(nlohmann::json manifest);
  int64_t tokens() const { return tokens_; }
  int64_t documents() const { return documents_; }

 private:
  void open_shard();
  void close_shard();

  std::string dir_;
  int bytes_per_token_;
  int64_t max_tokens_;
  std::vector<ShardInfo> shards_;
  int fd_ = -1;
  std::string open_path_;
  ShardInfo current_;
  std::vector<uint32_t> page_crcs_;
  uint32_t page_crc_ = 0;
  int64_t page_fill_ = 0;
  std::vector<int64_t> current_starts_;
  int64_t tokens_ = 0, documents_ = 0;
  std::vector<char> buffer_;
  nlohmann::json progress_options_;  // set by resume(): closed shards are then recorded
};

// A shard set read through memory maps.
class TokenShards {
 public:
  // Opens `dir`: InputError when the manifest is missing or of another format, or a shard's size
  // is not the manifest's. Checksums are checked page by page as pages are read.
  explicit TokenShards(const std::string& dir);
  ~TokenShards();

  const nlohmann::json& manifest() const { return manifest_; }
  const std::string& directory() const { return dir_; }
  int64_t size() const { return tokens_; }  // tokens of the split
  int64_t documents() const { return documents_; }
  // The token offsets where documents [first, first + count) start, document documents() starting
  // at size(). The index is mapped, not loaded, and the pages read are released again.
  void document_starts(int64_t first, int64_t count, int64_t* out) const;
  // Tokens [begin, begin + count) as int64 into out (they may span shards).
  void copy(int64_t begin, int64_t count, int64_t* out);

 private:
  struct Shard;
  void verify(Shard& shard, int64_t first_byte, int64_t last_byte);
  // Drops the pages of a mapping that [begin, end) touched from this process's resident memory.
  static void release(const void* map, size_t mapped_bytes, int64_t begin, int64_t end);
  void map_index(Shard& shard, const std::string& path);

  std::string dir_;
  nlohmann::json manifest_;
  int bytes_per_token_ = 2;
  int64_t tokens_ = 0;
  int64_t documents_ = 0;
  std::vector<std::unique_ptr<Shard>> shards_;
};

// What a folder holds: no complete shard set (no manifest), one of this qkv's format, or one an
// older qkv wrote (derived data: commands prepare it again without being asked).
enum class ShardState { kMissing, kCurrent, kOtherFormat };
ShardState shard_state(const std::string& dir);

// crc32 (zlib) of bytes.
uint32_t crc32_of(const void* data, size_t size, uint32_t crc = 0);

}  // namespace qkv
