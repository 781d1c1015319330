// A data file's bytes, read in chunks and decompressed on the fly when the name ends in .gz
// (gzip, through zlib; concatenated members too) or .zst (Zstandard, through libzstd), so that
// every reader accepts compressed corpora and none holds a whole file. A truncated or corrupt
// stream is an InputError naming the file and the byte offset in it where reading stopped.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace qkv {

class ByteStream {
 public:
  // InputError when the file cannot be opened.
  explicit ByteStream(const std::string& path);
  ~ByteStream();
  ByteStream(const ByteStream&) = delete;
  ByteStream& operator=(const ByteStream&) = delete;

  // Up to `cap` (decompressed) bytes into `buffer`; 0 at the end of the file.
  size_t read(char* buffer, size_t cap);
  // Bytes of the file itself consumed so far (compressed bytes for .gz and .zst).
  int64_t file_offset() const { return file_offset_; }
  const std::string& path() const { return path_; }

 private:
  enum class Kind { kPlain, kGzip, kZstd };
  size_t read_plain(char* buffer, size_t cap);
  size_t read_gzip(char* buffer, size_t cap);
  size_t read_zstd(char* buffer, size_t cap);
  bool fill();  // more compressed input; false at the end of the file

  std::string path_;
  Kind kind_ = Kind::kPlain;
  int fd_ = -1;
  int64_t file_offset_ = 0;
  std::string input_;  // compressed bytes read and not yet consumed: [input_pos_, input_end_)
  size_t input_pos_ = 0, input_end_ = 0;
  bool input_done_ = false, stream_done_ = false;
  struct Codec;
  std::unique_ptr<Codec> codec_;
};

}  // namespace qkv
