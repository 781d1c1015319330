// Lines of data files with the checks every qkv reader shares, and the policy for bad lines.
// A UTF-8 byte-order mark at the start of a file and CR before LF are accepted and removed; NUL
// bytes, invalid UTF-8 and lines longer than data.max_line_bytes are bad lines. In strict mode a
// bad line stops the run with `file:line: field: reason`; in skip mode it is dropped and counted
// by reason, and a file that loses more than data.max_skipped of its lines stops the run.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "transformer/config/config.h"
#include "transformer/data/byte_stream.h"

namespace qkv {

// Where the first invalid UTF-8 sequence starts (byte offset), or npos when the text is valid.
size_t invalid_utf8_at(std::string_view text);

// Lines of a file, compressed (.gz, .zst) or not.
class LineReader {
 public:
  // InputError when the file cannot be opened.
  LineReader(const std::string& path, int64_t max_line_bytes);
  // The next line without its terminator; false at the end of the file. When the line is bad,
  // *problem holds the reason ("NUL byte at column 7") and *category its kind ("NUL byte").
  bool next(std::string& line, std::string* category, std::string* problem);
  int64_t line_number() const { return line_number_; }  // 1-based, of the line last returned
  const std::string& path() const { return path_; }
  int64_t file_offset() const { return stream_->file_offset(); }  // bytes of the file read so far

 private:
  bool getline(std::string& line);

  std::string path_;
  std::unique_ptr<ByteStream> stream_;
  std::string buffer_;
  size_t begin_ = 0, end_ = 0;  // unread bytes of buffer_
  bool eof_ = false;
  int64_t length_ = 0;  // of the line last read, in bytes
  int64_t max_bytes_;
  int64_t line_number_ = 0;
};

class BadLines {
 public:
  BadLines(std::string path, OnError policy, double max_fraction);
  // A bad line: InputError `path:line: field: detail` in strict mode; counted by category in
  // skip mode. field may be empty (the whole line).
  void report(int64_t line, const std::string& field, const std::string& category, const std::string& detail);
  // Lines dropped on purpose rather than for being bad (SNLI's '-' gold label): counted, never fatal.
  void drop(const std::string& category) { dropped_[category] += 1; }
  // After the last line: InputError when skip mode dropped more than the allowed fraction.
  void finish(int64_t total_lines) const;
  // "2 unknown label, 1 wrong column count"; empty when nothing was dropped.
  std::string summary() const;
  int64_t skipped() const { return skipped_; }
  const std::map<std::string, int64_t>& counts() const { return dropped_; }

 private:
  std::string path_;
  OnError policy_;
  double max_fraction_;
  int64_t skipped_ = 0;  // bad lines only
  std::map<std::string, int64_t> dropped_;
  std::string first_detail_;
};

// The non-blank lines of a plain-text file (blank lines separate nothing and are skipped), each
// checked as above.
std::vector<std::string> read_text_lines(const std::string& path, const DataConfig& data);

}  // namespace qkv
