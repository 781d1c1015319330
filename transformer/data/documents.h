// The documents of a language-modelling corpus, in order, from files of plain text (a document
// per line, per paragraph, or per file: data.documents) or JSON Lines (a document per object, its
// text in data.text_field), any of them compressed. Each line is checked as data/lines.h checks
// lines; bad lines follow data.on_error, named by file and line.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "transformer/config/config.h"
#include "transformer/data/lines.h"

namespace qkv {

class DocumentReader {
 public:
  DocumentReader(std::vector<std::string> files, const DataConfig& data);
  ~DocumentReader();
  // The next document as its non-blank lines (a document is encoded line by line, eos after its
  // last); false after the last document of the last file.
  bool next(std::vector<std::string>& lines);
  // Bytes of the files read so far (compressed bytes for compressed files), for progress lines.
  int64_t bytes_read() const { return done_bytes_ + (reader_ ? reader_->file_offset() : 0); }
  int64_t total_bytes() const { return total_bytes_; }

 private:
  bool open_next_file();
  bool next_line(std::string& line);  // the next good line of the current file
  bool jsonl_document(const std::string& line, std::vector<std::string>& lines);

  std::vector<std::string> files_;
  const DataConfig& data_;
  bool jsonl_;
  size_t next_file_ = 0;
  std::unique_ptr<LineReader> reader_;
  std::unique_ptr<BadLines> bad_;
  int64_t done_bytes_ = 0, total_bytes_ = 0;
};

// Splits text at '\n' into its non-blank lines (a JSON document's text).
std::vector<std::string> split_lines(const std::string& text);

}  // namespace qkv
