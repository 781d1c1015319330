// Writing and memory-mapping token shards.
#include "transformer/data/token_shards.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <mutex>

#include <fmt/format.h>

#include "transformer/util/atomic_file.h"
#include "transformer/util/errors.h"
#include "transformer/util/fault_point.h"

namespace qkv {

namespace fs = std::filesystem;

ShardState shard_state(const std::string& dir) {
  const auto path = fs::path(dir) / "manifest.json";
  std::error_code ec;
  if (!fs::exists(path, ec)) return ShardState::kMissing;
  const auto manifest = nlohmann::json::parse(read_file(path.string()), nullptr, false);
  if (manifest.is_object() && manifest.value("format", 0) == kShardFormat) return ShardState::kCurrent;
  return ShardState::kOtherFormat;
}

uint32_t crc32_of(const void* data, size_t size, uint32_t crc) {
  const auto* p = static_cast<const Bytef*>(data);
  while (size > 0) {  // zlib takes uInt lengths
    const uInt n = uInt(std::min<size_t>(size, 1u << 30));
    crc = uint32_t(crc32(crc, p, n));
    p += n;
    size -= n;
  }
  return crc;
}

namespace {

std::string shard_name(size_t index) { return fmt::format("shard-{:05d}", index); }

void write_all(int fd, const char* data, size_t size, const std::string& path) {
  for (size_t done = 0; done < size;) {
    const ssize_t n = ::write(fd, data + done, size - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      io_failure("cannot write", path, errno);
    }
    done += size_t(n);
  }
}

std::string raw_bytes(const void* data, size_t size) { return std::string(static_cast<const char*>(data), size); }

}  // namespace

// ---- writing ----

ShardWriter::ShardWriter(std::string dir, int bytes_per_token, int64_t max_tokens)
    : dir_(std::move(dir)), bytes_per_token_(bytes_per_token), max_tokens_(max_tokens) {}

ShardWriter::~ShardWriter() {
  if (fd_ >= 0) ::close(fd_);
}

int64_t ShardWriter::resume(const nlohmann::json& options) {
  std::error_code ec;
  const fs::path progress = fs::path(dir_) / "progress.json";
  std::vector<ShardInfo> kept;
  if (fs::exists(progress, ec)) {
    const auto saved = nlohmann::json::parse(read_file(progress.string()), nullptr, false);
    if (!saved.is_discarded() && saved.value("options", nlohmann::json()) == options) {
      for (const auto& s : saved.at("shards")) {
        ShardInfo info{s.at("file"), s.at("tokens"), s.at("documents"), s.at("crc")};
        const std::string bytes = read_file((fs::path(dir_) / info.file).string());
        if (int64_t(bytes.size()) != info.tokens * bytes_per_token_ || crc32_of(bytes.data(), bytes.size()) != info.crc) break;
        kept.push_back(info);
      }
    }
  }
  // Anything else in the folder is an unfinished write: removed.
  for (const auto& entry : fs::directory_iterator(dir_, ec)) {
    const std::string name = entry.path().filename().string();
    const bool keep = name == "progress.json" || std::any_of(kept.begin(), kept.end(), [&](const ShardInfo& s) {
                        return name == s.file || name == s.file.substr(0, s.file.size() - 4) + ".docs" ||
                               name == s.file.substr(0, s.file.size() - 4) + ".crc";
                      });
    if (!keep) fs::remove(entry.path(), ec);
  }
  shards_ = kept;
  for (const auto& s : shards_) tokens_ += s.tokens, documents_ += s.documents;
  progress_options_ = options;
  return documents_;
}

void ShardWriter::open_shard() {
  current_ = ShardInfo{shard_name(shards_.size()) + ".bin"};
  open_path_ = (fs::path(dir_) / (current_.file + ".tmp")).string();
  fd_ = ::open(open_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) io_failure("cannot write", open_path_, errno);
  page_crcs_.clear();
  page_crc_ = 0;
  page_fill_ = 0;
  current_starts_.clear();
}

void ShardWriter::append(const std::vector<int32_t>& tokens, int64_t documents_in_it, const std::vector<int64_t>& starts) {
  if (fd_ < 0) open_shard();
  buffer_.resize(tokens.size() * size_t(bytes_per_token_));
  for (size_t i = 0; i < tokens.size(); ++i) {  // little-endian, as x86 and ARM store them
    const uint32_t id = uint32_t(tokens[i]);
    if (bytes_per_token_ == 2) {
      const uint16_t v = uint16_t(id);
      std::memcpy(buffer_.data() + 2 * i, &v, 2);
    } else {
      std::memcpy(buffer_.data() + 4 * i, &id, 4);
    }
  }
  write_all(fd_, buffer_.data(), buffer_.size(), open_path_);
  current_.crc = crc32_of(buffer_.data(), buffer_.size(), current_.crc);
  for (size_t at = 0; at < buffer_.size();) {  // crc32 of each page
    const size_t n = std::min(buffer_.size() - at, size_t(kShardPage - page_fill_));
    page_crc_ = crc32_of(buffer_.data() + at, n, page_crc_);
    page_fill_ += int64_t(n);
    at += n;
    if (page_fill_ == kShardPage) page_crcs_.push_back(page_crc_), page_crc_ = 0, page_fill_ = 0;
  }
  fault_point("shard-data", int64_t(shards_.size()));
  for (int64_t s : starts) current_starts_.push_back(tokens_ + s);
  current_.tokens += int64_t(tokens.size());
  current_.documents += documents_in_it;
  tokens_ += int64_t(tokens.size());
  documents_ += documents_in_it;
  if (current_.tokens >= max_tokens_) close_shard();
}

void ShardWriter::close_shard() {
  if (fd_ < 0) return;
  if (page_fill_ > 0) page_crcs_.push_back(page_crc_);
  if (::fsync(fd_) != 0) io_failure("cannot flush", open_path_, errno);
  if (::close(fd_) != 0) io_failure("cannot close", open_path_, errno);
  fd_ = -1;
  const std::string stem = (fs::path(dir_) / current_.file.substr(0, current_.file.size() - 4)).string();
  write_file_atomic(stem + ".docs", raw_bytes(current_starts_.data(), current_starts_.size() * sizeof(int64_t)));
  write_file_atomic(stem + ".crc", raw_bytes(page_crcs_.data(), page_crcs_.size() * sizeof(uint32_t)));
  const std::string final_path = (fs::path(dir_) / current_.file).string();
  if (std::rename(open_path_.c_str(), final_path.c_str()) != 0) io_failure("cannot rename into place", final_path, errno);
  fsync_path(dir_, true);
  shards_.push_back(current_);
  if (progress_options_.is_null()) return;
  nlohmann::json record{{"options", progress_options_}, {"shards", nlohmann::json::array()}};
  for (const auto& s : shards_) {
    record["shards"].push_back({{"file", s.file}, {"tokens", s.tokens}, {"documents", s.documents}, {"crc", s.crc}});
  }
  write_file_atomic((fs::path(dir_) / "progress.json").string(), record.dump() + "\n");
  fault_point("shard", int64_t(shards_.size()) - 1);
}

void ShardWriter::finish(nlohmann::json manifest) {
  close_shard();
  nlohmann::json list = nlohmann::json::array();
  for (const auto& s : shards_) {
    list.push_back({{"file", s.file}, {"tokens", s.tokens}, {"documents", s.documents}, {"crc", s.crc}});
  }
  manifest["format"] = kShardFormat;
  manifest["dtype"] = bytes_per_token_ == 2 ? "uint16" : "uint32";
  manifest["tokens"] = tokens_;
  manifest["documents"] = documents_;
  manifest["shards"] = list;
  write_file_atomic((fs::path(dir_) / "manifest.json").string(), manifest.dump(1) + "\n");  // last: the set is complete
  std::error_code ec;
  fs::remove(fs::path(dir_) / "progress.json", ec);
}

// ---- reading ----

struct TokenShards::Shard {
  std::string path;
  int64_t first_token = 0, tokens = 0, first_document = 0;
  uint32_t crc = 0;
  const unsigned char* data = nullptr;  // mapped
  size_t mapped_bytes = 0;
  const int64_t* starts = nullptr;  // the mapped document index
  size_t starts_bytes = 0;
  int64_t documents = 0;
  std::vector<uint32_t> page_crcs;
  std::vector<uint8_t> verified;  // per page
  std::mutex lock;
  ~Shard() {
    if (data) ::munmap(const_cast<unsigned char*>(data), mapped_bytes);
    if (starts) ::munmap(const_cast<int64_t*>(starts), starts_bytes);
  }
};

TokenShards::TokenShards(const std::string& dir) : dir_(dir) {
  const fs::path manifest_path = fs::path(dir) / "manifest.json";
  std::error_code ec;
  if (!fs::exists(manifest_path, ec)) {
    throw InputError(fmt::format("{}: no manifest.json: not a complete prepared corpus (qkv prepare writes one)", dir));
  }
  manifest_ = nlohmann::json::parse(read_file(manifest_path.string()), nullptr, false);
  if (manifest_.is_discarded() || manifest_.value("format", 0) != kShardFormat) {
    throw InputError(fmt::format("{}: not a token-shard manifest of format {} (qkv prepare --rebuild-data rebuilds it)",
                                 manifest_path.string(), kShardFormat));
  }
  bytes_per_token_ = manifest_.at("dtype") == "uint16" ? 2 : 4;
  for (const auto& s : manifest_.at("shards")) {
    auto shard = std::make_unique<Shard>();
    shard->path = (fs::path(dir) / s.at("file").get<std::string>()).string();
    shard->first_token = tokens_;
    shard->tokens = s.at("tokens");
    shard->crc = s.at("crc");
    tokens_ += shard->tokens;
    const int64_t expected = shard->tokens * bytes_per_token_;
    const int64_t actual = fs::exists(shard->path, ec) ? int64_t(fs::file_size(shard->path, ec)) : -1;
    if (actual != expected) {
      throw InputError(fmt::format("{}: {} bytes where its manifest has {} (crc32 {:08x}): the shard is damaged; "
                                   "--rebuild-data prepares the corpus again",
                                   shard->path, actual < 0 ? std::string("no") : std::to_string(actual), expected, shard->crc));
    }
    const std::string stem = shard->path.substr(0, shard->path.size() - 4);
    const std::string crcs = read_file(stem + ".crc");
    shard->page_crcs.resize(crcs.size() / 4);
    std::memcpy(shard->page_crcs.data(), crcs.data(), shard->page_crcs.size() * 4);
    shard->verified.assign(shard->page_crcs.size(), 0);
    if (expected > 0) {
      const int fd = ::open(shard->path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) io_failure("cannot open", shard->path, errno);
      void* map = ::mmap(nullptr, size_t(expected), PROT_READ, MAP_SHARED, fd, 0);
      ::close(fd);
      if (map == MAP_FAILED) io_failure("cannot map", shard->path, errno);
      ::madvise(map, size_t(expected), MADV_RANDOM);  // blocks are read in a shuffled order
      shard->data = static_cast<const unsigned char*>(map);
      shard->mapped_bytes = size_t(expected);
    }
    shard->first_document = documents_;
    shard->documents = s.at("documents");
    documents_ += shard->documents;
    map_index(*shard, stem + ".docs");
    shards_.push_back(std::move(shard));
  }
}

TokenShards::~TokenShards() = default;

void TokenShards::map_index(Shard& shard, const std::string& path) {
  std::error_code ec;
  const int64_t bytes = fs::exists(path, ec) ? int64_t(fs::file_size(path, ec)) : -1;
  if (bytes != shard.documents * int64_t(sizeof(int64_t))) {
    throw InputError(fmt::format("{}: {} bytes where {} documents need {}: the index is damaged; --rebuild-data "
                                 "prepares the corpus again",
                                 path, bytes, shard.documents, shard.documents * int64_t(sizeof(int64_t))));
  }
  if (bytes == 0) return;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) io_failure("cannot open", path, errno);
  void* map = ::mmap(nullptr, size_t(bytes), PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) io_failure("cannot map", path, errno);
  shard.starts = static_cast<const int64_t*>(map);
  shard.starts_bytes = size_t(bytes);
}

void TokenShards::document_starts(int64_t first, int64_t count, int64_t* out) const {
  if (first < 0 || count < 0 || first + count > documents_ + 1) {
    throw std::out_of_range(fmt::format("{}: documents {}..{} past the corpus's {}", dir_, first, first + count, documents_));
  }
  if (first + count == documents_ + 1 && count > 0) out[--count] = tokens_;  // the end of the last document
  auto it = std::upper_bound(shards_.begin(), shards_.end(), first,
                             [](int64_t d, const std::unique_ptr<Shard>& s) { return d < s->first_document; });
  for (--it; count > 0; ++it) {
    const Shard& shard = **it;
    const int64_t local = first - shard.first_document;
    const int64_t n = std::min(count, shard.documents - local);
    std::copy(shard.starts + local, shard.starts + local + n, out);
    release(shard.starts, shard.starts_bytes, local * 8, (local + n) * 8);
    out += n, first += n, count -= n;
  }
}

void TokenShards::verify(Shard& shard, int64_t first_byte, int64_t last_byte) {
  const int64_t first_page = first_byte / kShardPage, last_page = last_byte / kShardPage;
  std::lock_guard<std::mutex> guard(shard.lock);
  for (int64_t page = first_page; page <= last_page; ++page) {
    if (shard.verified[size_t(page)]) continue;
    const int64_t begin = page * kShardPage;
    const int64_t end = std::min<int64_t>(begin + kShardPage, int64_t(shard.mapped_bytes));
    const uint32_t crc = crc32_of(shard.data + begin, size_t(end - begin));
    if (crc != shard.page_crcs[size_t(page)]) {
      throw InputError(fmt::format("{}: bytes {}-{} have crc32 {:08x}, the shard's record {:08x} (shard crc32 {:08x}): "
                                   "the shard is damaged; --rebuild-data prepares the corpus again",
                                   shard.path, begin, end - 1, crc, shard.page_crcs[size_t(page)], shard.crc));
    }
    shard.verified[size_t(page)] = 1;
    release(shard.data, shard.mapped_bytes, begin, end);
  }
}

// Drops the process's mapping of bytes [begin, end) of a shard (the page cache keeps them): the
// pages a batch touched do not stay resident, so memory does not grow with the corpus read.
void TokenShards::release(const void* map, size_t mapped_bytes, int64_t begin, int64_t end) {
  static const int64_t page = ::sysconf(_SC_PAGESIZE);
  const int64_t first = begin / page * page, last = std::min<int64_t>((end + page - 1) / page * page, int64_t(mapped_bytes));
  if (last > first) ::madvise(const_cast<char*>(static_cast<const char*>(map)) + first, size_t(last - first), MADV_DONTNEED);
}

void TokenShards::copy(int64_t begin, int64_t count, int64_t* out) {
  if (begin < 0 || count < 0 || begin + count > tokens_) {
    throw std::out_of_range(fmt::format("{}: tokens {}..{} past the corpus's {}", dir_, begin, begin + count, tokens_));
  }
  auto it = std::upper_bound(shards_.begin(), shards_.end(), begin,
                             [](int64_t t, const std::unique_ptr<Shard>& s) { return t < s->first_token; });
  for (--it; count > 0; ++it) {
    Shard& shard = **it;
    const int64_t local = begin - shard.first_token;
    const int64_t n = std::min(count, shard.tokens - local);
    verify(shard, local * bytes_per_token_, (local + n) * bytes_per_token_ - 1);
    const unsigned char* p = shard.data + local * bytes_per_token_;
    if (bytes_per_token_ == 2) {
      for (int64_t i = 0; i < n; ++i) out[i] = int64_t(uint16_t(p[2 * i] | (p[2 * i + 1] << 8)));
    } else {
      for (int64_t i = 0; i < n; ++i) {
        uint32_t v;
        std::memcpy(&v, p + 4 * i, 4);
        out[i] = int64_t(v);
      }
    }
    release(shard.data, shard.mapped_bytes, local * bytes_per_token_, (local + n) * bytes_per_token_);
    out += n, begin += n, count -= n;
  }
}

}  // namespace qkv
