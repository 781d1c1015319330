// Documents of plain-text and JSON Lines corpora.
#include "transformer/data/documents.h"

#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "transformer/util/errors.h"

namespace qkv {

namespace {

bool blank(const std::string& line) { return line.find_first_not_of(" \t\r") == std::string::npos; }

}  // namespace

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t nl = std::min(text.find('\n', start), text.size());
    std::string line = text.substr(start, nl - start);
    if (!blank(line)) lines.push_back(std::move(line));
    start = nl + 1;
  }
  return lines;
}

DocumentReader::DocumentReader(std::vector<std::string> files, const DataConfig& data)
    : files_(std::move(files)), data_(data), jsonl_(data.format == DataFormat::kJsonl) {
  std::error_code ec;
  for (const auto& f : files_) total_bytes_ += int64_t(std::filesystem::file_size(f, ec));
}

DocumentReader::~DocumentReader() = default;

bool DocumentReader::open_next_file() {
  if (reader_) {
    bad_->finish(reader_->line_number());
    done_bytes_ += reader_->file_offset();
    reader_.reset();
  }
  if (next_file_ >= files_.size()) return false;
  const std::string& path = files_[next_file_++];
  reader_ = std::make_unique<LineReader>(path, data_.max_line_bytes);
  bad_ = std::make_unique<BadLines>(path, data_.on_error, data_.max_skipped);
  return true;
}

bool DocumentReader::next_line(std::string& line) {
  std::string category, problem;
  while (reader_->next(line, &category, &problem)) {
    if (problem.empty()) return true;
    bad_->report(reader_->line_number(), "", category, problem);
  }
  return false;
}

bool DocumentReader::jsonl_document(const std::string& line, std::vector<std::string>& lines) {
  const auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  const int64_t n = reader_->line_number();
  if (j.is_discarded() || !j.is_object()) {
    bad_->report(n, "", "invalid JSON", j.is_discarded() ? "not valid JSON" : "expected a JSON object");
    return false;
  }
  const auto field = j.find(data_.text_field);
  if (field == j.end()) {
    bad_->report(n, data_.text_field, "missing field", "missing field (data.text_field)");
    return false;
  }
  if (!field->is_string()) {
    bad_->report(n, data_.text_field, "not a string", fmt::format("expected a string, found {}", field->type_name()));
    return false;
  }
  lines = split_lines(field->get<std::string>());
  return !lines.empty();
}

bool DocumentReader::next(std::vector<std::string>& lines) {
  lines.clear();
  if (!reader_ && !open_next_file()) return false;
  std::string line;
  for (;;) {
    if (!next_line(line)) {
      // The end of a file ends its last paragraph and a file document.
      if (!jsonl_ && data_.documents != Documents::kLine && !lines.empty()) {
        open_next_file();
        return true;
      }
      if (!open_next_file()) return false;
      continue;
    }
    if (jsonl_) {
      if (!blank(line) && jsonl_document(line, lines)) return true;
      continue;
    }
    if (blank(line)) {
      if (data_.documents == Documents::kParagraph && !lines.empty()) return true;
      continue;
    }
    lines.push_back(line);
    if (data_.documents == Documents::kLine) return true;
  }
}

}  // namespace qkv
