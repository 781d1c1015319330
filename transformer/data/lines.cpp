// Checked line reading and the bad-line policy.
#include "transformer/data/lines.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "transformer/util/errors.h"

namespace qkv {

size_t invalid_utf8_at(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t extra = 0;
    uint32_t min = 0, code = 0;
    if ((c & 0xE0) == 0xC0) extra = 1, min = 0x80, code = c & 0x1F;
    else if ((c & 0xF0) == 0xE0) extra = 2, min = 0x800, code = c & 0x0F;
    else if ((c & 0xF8) == 0xF0) extra = 3, min = 0x10000, code = c & 0x07;
    else return i;  // a continuation byte or 0xF8.. where a character should start
    if (i + extra >= s.size()) return i;  // truncated at the end of the line
    for (size_t k = 1; k <= extra; ++k) {
      const auto d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xC0) != 0x80) return i;
      code = (code << 6) | (d & 0x3F);
    }
    // Overlong forms, UTF-16 surrogates and code points past U+10FFFF are not UTF-8.
    if (code < min || (code >= 0xD800 && code <= 0xDFFF) || code > 0x10FFFF) return i;
    i += extra + 1;
  }
  return std::string_view::npos;
}

LineReader::LineReader(const std::string& path, int64_t max_line_bytes)
    : path_(path), stream_(std::make_unique<ByteStream>(path)), buffer_(1 << 16, '\0'), max_bytes_(max_line_bytes) {}

// The next line without its '\n'; false when nothing is left (a last line without '\n' counts).
// A line past max_bytes_ is kept only in part (its length in length_), so a file without line
// ends cannot fill the memory.
bool LineReader::getline(std::string& line) {
  line.clear();
  length_ = 0;
  auto append = [&](const char* p, size_t n) {
    length_ += int64_t(n);
    const size_t room = size_t(std::max<int64_t>(0, max_bytes_ + 1 - int64_t(line.size())));
    line.append(p, std::min(n, room));
  };
  for (;;) {
    const char* start = buffer_.data() + begin_;
    if (const void* nl = std::memchr(start, '\n', end_ - begin_)) {
      const size_t n = size_t(static_cast<const char*>(nl) - start);
      append(start, n);
      begin_ += n + 1;
      return true;
    }
    append(start, end_ - begin_);
    begin_ = end_ = 0;
    if (eof_) return length_ > 0;
    const size_t got = stream_->read(buffer_.data(), buffer_.size());
    if (got == 0) eof_ = true;
    end_ = got;
  }
}

bool LineReader::next(std::string& line, std::string* category, std::string* problem) {
  category->clear();
  problem->clear();
  if (!getline(line)) return false;
  ++line_number_;
  if (line_number_ == 1 && line.compare(0, 3, "\xEF\xBB\xBF") == 0) line.erase(0, 3);  // byte-order mark
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (length_ > max_bytes_) {
    *category = "line too long";
    *problem = fmt::format("{} bytes, longer than data.max_line_bytes = {}", length_, max_bytes_);
    return true;
  }
  if (const size_t nul = line.find('\0'); nul != std::string::npos) {
    *category = "NUL byte";
    *problem = fmt::format("NUL byte at column {}", nul + 1);
    return true;
  }
  if (const size_t bad = invalid_utf8_at(line); bad != std::string_view::npos) {
    *category = "invalid UTF-8";
    *problem = fmt::format("invalid UTF-8 at byte {}", bad + 1);
  }
  return true;
}

BadLines::BadLines(std::string path, OnError policy, double max_fraction)
    : path_(std::move(path)), policy_(policy), max_fraction_(max_fraction) {}

void BadLines::report(int64_t line, const std::string& field, const std::string& category, const std::string& detail) {
  const std::string where = field.empty() ? fmt::format("{}:{}", path_, line) : fmt::format("{}:{}: {}", path_, line, field);
  if (policy_ == OnError::kStrict) {
    throw InputError(fmt::format("{}: {} (data.on_error: skip drops such lines)", where, detail));
  }
  if (first_detail_.empty()) first_detail_ = fmt::format("{}: {}", where, detail);
  ++skipped_;
  dropped_[category] += 1;
}

void BadLines::finish(int64_t total_lines) const {
  if (skipped_ == 0 || total_lines == 0) return;
  const double fraction = double(skipped_) / double(total_lines);
  if (fraction > max_fraction_) {
    throw InputError(fmt::format("{}: {} of {} lines are bad ({:.1f}%), more than data.max_skipped = {:g}%: {}; first: {}",
                                 path_, skipped_, total_lines, 100.0 * fraction, 100.0 * max_fraction_, summary(),
                                 first_detail_));
  }
}

std::string BadLines::summary() const {
  std::string out;
  for (const auto& [category, n] : dropped_) out += fmt::format("{}{} {}", out.empty() ? "" : ", ", n, category);
  return out;
}

std::vector<std::string> read_text_lines(const std::string& path, const DataConfig& data) {
  LineReader reader(path, data.max_line_bytes);
  BadLines bad(path, data.on_error, data.max_skipped);
  std::vector<std::string> lines;
  std::string line, category, problem;
  while (reader.next(line, &category, &problem)) {
    if (!problem.empty()) {
      bad.report(reader.line_number(), "", category, problem);
      continue;
    }
    if (line.find_first_not_of(" \t") != std::string::npos) lines.push_back(std::move(line));
  }
  bad.finish(reader.line_number());
  return lines;
}

}  // namespace qkv
