#include "transformer/data/segment_pairs.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "transformer/data/token_shards.h"
#include "transformer/util/atomic_file.h"

namespace qkv {

namespace fs = std::filesystem;

namespace {

// pairs-LEN.bin: a header, then for each sequence the documents where its a and its b start (two
// uint64), then the document where the last one ends; end of sequence k = start of sequence k + 1.
struct PairsHeader {
  char magic[8] = {'q', 'k', 'v', 'p', 'a', 'i', 'r', '1'};
  uint64_t sequences = 0, with_b = 0, documents = 0, tokens = 0;
  uint32_t crc = 0;  // of everything after the header
  uint32_t reserved = 0;
};
constexpr int64_t kChunk = int64_t(1) << 16;  // documents or entries per read and write

void read_exact(int fd, void* out, size_t bytes, int64_t offset, const std::string& path) {
  auto* p = static_cast<char*>(out);
  while (bytes > 0) {
    const ssize_t n = ::pread(fd, p, bytes, off_t(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) io_failure("cannot read", path, n < 0 ? errno : EIO);
    p += n, bytes -= size_t(n), offset += n;
  }
}

void write_all(int fd, const void* data, size_t bytes, const std::string& path) {
  const auto* p = static_cast<const char*>(data);
  while (bytes > 0) {
    const ssize_t n = ::write(fd, p, bytes);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) io_failure("cannot write", path, errno);
    p += n, bytes -= size_t(n);
  }
}

// The packing file at `path` when it is complete and made from this corpus: its descriptor, else -1.
int open_packing(const std::string& path, const TokenShards& shards, PairsHeader& header) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  PairsHeader h;
  const off_t size = ::lseek(fd, 0, SEEK_END);
  bool good = ::pread(fd, &h, sizeof h, 0) == ssize_t(sizeof h) && std::memcmp(h.magic, header.magic, 8) == 0 &&
              int64_t(h.documents) == shards.documents() && int64_t(h.tokens) == shards.size() &&
              size == off_t(sizeof h + 16 * h.sequences + 8);
  if (good) {  // read through once: a damaged file is made again rather than trusted
    std::vector<char> buffer(size_t(kChunk) * 16);
    uint32_t crc = 0;
    for (int64_t at = sizeof h; at < size;) {
      const size_t n = size_t(std::min<int64_t>(int64_t(buffer.size()), size - at));
      read_exact(fd, buffer.data(), n, at, path);
      crc = crc32_of(buffer.data(), n, crc);
      at += int64_t(n);
    }
    good = crc == h.crc;
  }
  if (!good) {
    ::close(fd);
    return -1;
  }
  header = h;
  return fd;
}

// Packs the corpus's documents from its index alone (their lengths less the eos) into `path`:
// a temporary file, flushed and renamed into place.
void write_packing(const std::string& path, const TokenShards& shards, int64_t max_len) {
  const std::string temporary = fmt::format("{}.tmp{}", path, ::getpid());
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) io_failure("cannot create", temporary, errno);
  PairsHeader header;
  header.documents = uint64_t(shards.documents());
  header.tokens = uint64_t(shards.size());
  write_all(fd, &header, sizeof header, temporary);
  std::vector<int64_t> starts;
  int64_t first = 0;
  auto length = [&](int64_t d) {  // documents are visited in order: a window of the index
    if (d < first || d + 1 >= first + int64_t(starts.size())) {
      first = d;
      starts.resize(size_t(std::min(kChunk, shards.documents() - d) + 1));
      shards.document_starts(d, int64_t(starts.size()), starts.data());
    }
    return starts[size_t(d - first + 1)] - starts[size_t(d - first)] - 1;
  };
  std::vector<uint64_t> entries;
  auto flush = [&] {
    header.crc = crc32_of(entries.data(), entries.size() * 8, header.crc);
    write_all(fd, entries.data(), entries.size() * 8, temporary);
    entries.clear();
  };
  pack_segments(shards.documents(), max_len, length, [&](int64_t a, int64_t b, int64_t end) {
    entries.push_back(uint64_t(a));
    entries.push_back(uint64_t(b));
    header.sequences += 1;
    header.with_b += uint64_t(end > b);
    if (int64_t(entries.size()) >= 2 * kChunk) flush();
  });
  entries.push_back(uint64_t(shards.documents()));
  flush();
  if (::pwrite(fd, &header, sizeof header, 0) != ssize_t(sizeof header)) io_failure("cannot write", temporary, errno);
  if (::fsync(fd) != 0) io_failure("cannot flush", temporary, errno);
  ::close(fd);
  if (std::rename(temporary.c_str(), path.c_str()) != 0) io_failure("cannot rename into place", path, errno);
}

}  // namespace

PairSplit::PairSplit(std::vector<TextPair> pairs) : pairs_(std::move(pairs)), size_(pairs_.size()) {
  for (const auto& p : pairs_) with_b_ += !p.b.empty();
}

PairSplit::PairSplit(std::shared_ptr<TokenShards> shards, int64_t max_len) : shards_(std::move(shards)) {
  const std::string path = (fs::path(shards_->directory()) / fmt::format("pairs-{}.bin", max_len)).string();
  PairsHeader header;
  fd_ = open_packing(path, *shards_, header);
  if (fd_ < 0) {
    write_packing(path, *shards_, max_len);
    fd_ = open_packing(path, *shards_, header);
    if (fd_ < 0) throw std::runtime_error(fmt::format("{}: the sequence packing just written does not read back", path));
  }
  size_ = size_t(header.sequences);
  with_b_ = size_t(header.with_b);
}

PairSplit::~PairSplit() {
  if (fd_ >= 0) ::close(fd_);
}

PairSplit::PairSplit(PairSplit&& other) noexcept { *this = std::move(other); }

PairSplit& PairSplit::operator=(PairSplit&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    pairs_ = std::move(other.pairs_);
    shards_ = std::move(other.shards_);
    fd_ = other.fd_, size_ = other.size_, with_b_ = other.with_b_;
    other.fd_ = -1, other.size_ = 0, other.with_b_ = 0;
  }
  return *this;
}

TextPair PairSplit::at(size_t row) const {
  if (!shards_) return pairs_.at(row);
  if (row >= size_) throw std::out_of_range(fmt::format("sequence {} of {}", row, size_));
  uint64_t entry[3];  // a's first document, b's first, the end
  read_exact(fd_, entry, sizeof entry, int64_t(sizeof(PairsHeader) + 16 * row), shards_->directory());
  const int64_t first = int64_t(entry[0]), count = int64_t(entry[2] - entry[0]);
  std::vector<int64_t> starts(size_t(count + 1));
  shards_->document_starts(first, count + 1, starts.data());
  std::vector<int64_t> tokens(size_t(starts.back() - starts.front()));
  shards_->copy(starts.front(), int64_t(tokens.size()), tokens.data());
  TextPair pair;
  for (int64_t d = 0; d < count; ++d) {  // each document without its closing eos
    auto& segment = first + d < int64_t(entry[1]) ? pair.a : pair.b;
    segment.insert(segment.end(), tokens.begin() + (starts[size_t(d)] - starts[0]),
                   tokens.begin() + (starts[size_t(d + 1)] - starts[0] - 1));
  }
  return pair;
}

}  // namespace qkv
