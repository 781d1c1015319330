// Plain, gzip and Zstandard files read in chunks.
#include "transformer/data/byte_stream.h"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "transformer/util/errors.h"

namespace qkv {

namespace {

constexpr size_t kInputChunk = 1 << 18;

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

struct ByteStream::Codec {
  z_stream gzip{};
  bool gzip_open = false;
  ZSTD_DCtx* zstd = nullptr;
  size_t zstd_last = 0;  // ZSTD_decompressStream's last result: 0 at the end of a frame
  ~Codec() {
    if (gzip_open) inflateEnd(&gzip);
    if (zstd) ZSTD_freeDCtx(zstd);
  }
};

ByteStream::ByteStream(const std::string& path) : path_(path), codec_(std::make_unique<Codec>()) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) throw InputError(fmt::format("{}: cannot open the data file: {}", path, std::strerror(errno)));
  if (ends_with(path, ".gz")) {
    kind_ = Kind::kGzip;
    if (inflateInit2(&codec_->gzip, 15 + 32) != Z_OK) throw std::runtime_error(path + ": zlib could not start");
    codec_->gzip_open = true;
  } else if (ends_with(path, ".zst")) {
    kind_ = Kind::kZstd;
    codec_->zstd = ZSTD_createDCtx();
    if (!codec_->zstd) throw std::runtime_error(path + ": libzstd could not start");
  }
}

ByteStream::~ByteStream() {
  if (fd_ >= 0) ::close(fd_);
}

size_t ByteStream::read(char* buffer, size_t cap) {
  switch (kind_) {
    case Kind::kPlain: return read_plain(buffer, cap);
    case Kind::kGzip: return read_gzip(buffer, cap);
    case Kind::kZstd: return read_zstd(buffer, cap);
  }
  return 0;
}

size_t ByteStream::read_plain(char* buffer, size_t cap) {
  for (;;) {
    const ssize_t n = ::read(fd_, buffer, cap);
    if (n >= 0) {
      file_offset_ += n;
      return size_t(n);
    }
    if (errno != EINTR) throw std::runtime_error(fmt::format("{}: cannot read: {} (errno {})", path_, std::strerror(errno), errno));
  }
}

bool ByteStream::fill() {
  if (input_done_) return false;
  if (input_.size() < kInputChunk) input_.resize(kInputChunk);
  const size_t n = read_plain(input_.data(), input_.size());
  input_pos_ = 0;
  input_end_ = n;
  if (n == 0) input_done_ = true;
  return n > 0;
}

size_t ByteStream::read_gzip(char* buffer, size_t cap) {
  z_stream& z = codec_->gzip;
  size_t produced = 0;
  while (produced == 0) {
    if (input_pos_ == input_end_ && !fill()) {
      if (!stream_done_ || produced > 0) break;
      return 0;  // the last member ended with the file
    }
    if (stream_done_) {  // another gzip member follows the one that ended
      inflateReset(&z);
      stream_done_ = false;
    }
    z.next_in = reinterpret_cast<Bytef*>(input_.data() + input_pos_);
    z.avail_in = uInt(input_end_ - input_pos_);
    z.next_out = reinterpret_cast<Bytef*>(buffer);
    z.avail_out = uInt(cap);
    const int status = inflate(&z, Z_NO_FLUSH);
    const size_t used = (input_end_ - input_pos_) - z.avail_in;
    const int64_t at = file_offset_ - int64_t(input_end_ - input_pos_) + int64_t(used);
    input_pos_ += used;
    produced = cap - z.avail_out;
    if (status == Z_STREAM_END) {
      stream_done_ = true;
    } else if (status != Z_OK && status != Z_BUF_ERROR) {
      throw InputError(fmt::format("{}: byte {}: corrupt gzip data ({})", path_, at, z.msg ? z.msg : "inflate failed"));
    }
  }
  if (produced == 0 && !stream_done_) {
    throw InputError(fmt::format("{}: byte {}: the gzip stream ends early (truncated file)", path_, file_offset_));
  }
  return produced;
}

size_t ByteStream::read_zstd(char* buffer, size_t cap) {
  for (;;) {
    if (input_pos_ == input_end_ && !fill()) {
      if (codec_->zstd_last != 0) {
        throw InputError(fmt::format("{}: byte {}: the Zstandard stream ends early (truncated file)", path_, file_offset_));
      }
      return 0;
    }
    ZSTD_inBuffer in{input_.data() + input_pos_, input_end_ - input_pos_, 0};
    ZSTD_outBuffer out{buffer, cap, 0};
    const size_t result = ZSTD_decompressStream(codec_->zstd, &out, &in);
    if (ZSTD_isError(result)) {
      const int64_t at = file_offset_ - int64_t(input_end_ - input_pos_) + int64_t(in.pos);
      throw InputError(fmt::format("{}: byte {}: corrupt Zstandard data ({})", path_, at, ZSTD_getErrorName(result)));
    }
    codec_->zstd_last = result;
    input_pos_ += in.pos;
    if (out.pos > 0) return out.pos;
  }
}

}  // namespace qkv
