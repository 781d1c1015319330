// Readers of labelled examples: GLUE TSV layouts, SNLI JSONL, generic TSV, CSV and JSONL.
#include "transformer/data/examples.h"

#include <algorithm>
#include <cstdlib>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "transformer/data/lines.h"
#include "transformer/util/errors.h"

namespace qkv {

std::vector<std::string> split_tsv(const std::string& line) {
  std::vector<std::string> cells;
  size_t start = 0;
  for (size_t tab; (tab = line.find('\t', start)) != std::string::npos; start = tab + 1) cells.push_back(line.substr(start, tab - start));
  cells.push_back(line.substr(start));
  return cells;
}

namespace {

// Column positions of a table, and their names for messages.
struct Layout {
  int64_t columns = -1;  // every row has this many; -1: not fixed (no header)
  int64_t text = -1, text_b = -1, label = -1;
  std::vector<int64_t> choices;
  std::vector<std::string> names;  // header names; empty without a header
  std::string name(int64_t column) const {
    return column >= 0 && size_t(column) < names.size() ? names[size_t(column)] : fmt::format("column {}", column);
  }
};

// The header names of a GLUE task's text, second text and label columns.
struct GlueNames {
  const char *text, *text_b, *label;
};
GlueNames glue_names(DataFormat format) {
  switch (format) {
    case DataFormat::kGlueSst2: return {"sentence", "", "label"};
    case DataFormat::kGlueMrpc: return {"#1 String", "#2 String", "Quality"};
    case DataFormat::kGlueQqp: return {"question1", "question2", "is_duplicate"};
    case DataFormat::kGlueStsb: return {"sentence1", "sentence2", "score"};
    case DataFormat::kGlueMnli: return {"sentence1", "sentence2", "gold_label"};
    case DataFormat::kGlueQnli: return {"question", "sentence", "label"};
    case DataFormat::kGlueRte:
    case DataFormat::kGlueWnli: return {"sentence1", "sentence2", "label"};
    default: return {"sentence", "", "label"};  // glue/cola's test file
  }
}

int64_t find_column(const std::vector<std::string>& header, const std::string& name) {
  auto it = std::find(header.begin(), header.end(), name);
  return it == header.end() ? -1 : int64_t(it - header.begin());
}

// RFC 4180: fields separated by commas, optionally in double quotes (a quote inside doubled); a
// quoted field may span lines, which are read from `reader`.
bool parse_csv(LineReader& reader, std::string line, std::vector<std::string>& cells, std::string* error) {
  cells.assign(1, "");
  bool quoted = false, after_quote = false;
  for (size_t i = 0;; ++i) {
    if (i == line.size()) {
      if (!quoted) return true;
      std::string more, category, problem;
      if (!reader.next(more, &category, &problem)) {
        *error = "unterminated quoted field at the end of the file";
        return false;
      }
      if (!problem.empty()) {
        *error = problem;
        return false;
      }
      cells.back() += '\n';
      line = std::move(more);
      i = size_t(-1);
      continue;
    }
    const char c = line[i];
    if (quoted) {
      if (c != '"') {
        cells.back() += c;
      } else if (i + 1 < line.size() && line[i + 1] == '"') {
        cells.back() += '"';
        ++i;
      } else {
        quoted = false;
        after_quote = true;
      }
    } else if (c == ',') {
      cells.emplace_back();
      after_quote = false;
    } else if (after_quote) {
      *error = fmt::format("text after a closing quote in field {}", cells.size());
      return false;
    } else if (c == '"' && cells.back().empty()) {
      quoted = true;
    } else {
      cells.back() += c;
    }
  }
}

class Reader {
 public:
  Reader(const std::string& path, const DataConfig& data, const TaskConfig& task, bool require_labels)
      : data_(data), task_(task), require_labels_(require_labels && is_labelled(task.kind)),
        labels_(is_labelled(task.kind)), lines_(path, data.max_line_bytes),
        bad_(path, data.on_error, data.max_skipped) {
    out_.path = path;
  }

  ExampleFile read() {
    switch (data_.format) {
      case DataFormat::kSnli:
      case DataFormat::kJsonl: read_jsonl(); break;
      default: read_table(); break;
    }
    bad_.finish(out_.lines);
    out_.dropped = bad_.summary();
    if (out_.examples.empty()) {
      throw InputError(fmt::format("{}: no examples{}", out_.path, out_.dropped.empty() ? "" : " (dropped: " + out_.dropped + ")"));
    }
    return std::move(out_);
  }

 private:
  [[noreturn]] void header_error(const std::string& field, const std::string& detail) const {
    throw InputError(fmt::format("{}:1: {}: {}", out_.path, field, detail));
  }

  // Where the fields are, from the header line (or the layout a headerless format fixes).
  Layout table_layout(const std::vector<std::string>* header) {
    Layout layout;
    const DataFormat f = data_.format;
    if (is_glue(f) && header) {
      const GlueNames names = glue_names(f);
      layout.names = *header;
      layout.columns = int64_t(header->size());
      layout.text = find_column(*header, names.text);
      if (layout.text < 0) header_error(names.text, fmt::format("no such column in the {} header ({})", choice_name(data_format_choices(), f), fmt::join(*header, ", ")));
      if (*names.text_b) {
        layout.text_b = find_column(*header, names.text_b);
        if (layout.text_b < 0) header_error(names.text_b, fmt::format("no such column in the {} header ({})", choice_name(data_format_choices(), f), fmt::join(*header, ", ")));
      }
      layout.label = find_column(*header, names.label);
      return layout;
    }
    if (f == DataFormat::kGlueCola) {  // train and dev: source, label, original label, sentence
      layout.columns = 4;
      layout.label = 1;
      layout.text = 3;
      return layout;
    }
    const ColumnsConfig& c = data_.columns;
    auto column = [&](const std::string& name, const char* key) -> int64_t {
      if (name.empty()) return -1;
      if (header) {
        const int64_t at = find_column(*header, name);
        if (at < 0) header_error(fmt::format("data.columns.{}", key), fmt::format("no column '{}' in the header ({})", name, fmt::join(*header, ", ")));
        return at;
      }
      return std::stoll(name);  // validated as a number when there is no header
    };
    if (header) {
      layout.names = *header;
      layout.columns = int64_t(header->size());
    }
    layout.text = column(c.text, "text");
    layout.text_b = column(c.text_b, "text_b");
    layout.label = column(c.label, "label");
    for (const auto& name : c.choices) layout.choices.push_back(column(name, "choices"));
    return layout;
  }

  void read_table() {
    const bool csv = data_.format == DataFormat::kCsv;
    auto cells_of = [&](const std::string& line, std::vector<std::string>& cells, std::string* error) {
      if (!csv) {
        cells = split_tsv(line);
        return true;
      }
      return parse_csv(lines_, line, cells, error);
    };
    std::string line, category, problem, error;
    std::vector<std::string> cells;
    Layout layout;
    bool has_header = data_.format == DataFormat::kTsv || data_.format == DataFormat::kCsv ? data_.header : is_glue(data_.format);
    bool first = true;
    while (lines_.next(line, &category, &problem)) {
      const int64_t n = lines_.line_number();
      if (first) {
        first = false;
        if (data_.format == DataFormat::kGlueCola) has_header = split_tsv(line) == std::vector<std::string>{"index", "sentence"};
        if (has_header) {
          if (!problem.empty()) header_error("header", problem);
          if (!cells_of(line, cells, &error)) header_error("header", error);
          layout = table_layout(&cells);
          check_labelled(layout.label >= 0, is_glue(data_.format) ? glue_names(data_.format).label : "data.columns.label");
          continue;
        }
        layout = table_layout(nullptr);
        check_labelled(layout.label >= 0, "data.columns.label");
      }
      ++out_.lines;
      if (!problem.empty()) {
        bad_.report(n, "", category, problem);
        continue;
      }
      if (line.empty()) {
        bad_.report(n, "", "empty line", "empty line");
        continue;
      }
      if (!cells_of(line, cells, &error)) {
        bad_.report(n, "", "malformed CSV", error);
        continue;
      }
      int64_t needed = layout.columns;
      if (needed < 0) needed = 1 + std::max({layout.text, layout.text_b, layout.label, layout.choices.empty() ? -1 : *std::max_element(layout.choices.begin(), layout.choices.end())});
      if ((layout.columns >= 0 && int64_t(cells.size()) != needed) || int64_t(cells.size()) < needed) {
        bad_.report(n, "", "wrong column count",
                    fmt::format("expected {} {} columns, found {}", needed, csv ? "comma-separated" : "tab-separated", cells.size()));
        continue;
      }
      Example ex;
      ex.line = n;
      if (!take_text(cells, layout.text, layout, n, ex.text)) continue;
      if (layout.text_b >= 0 && !take_text(cells, layout.text_b, layout, n, ex.text_b)) continue;
      bool ok = true;
      for (int64_t c : layout.choices) {
        ex.choices.emplace_back();
        ok = ok && take_text(cells, c, layout, n, ex.choices.back());
      }
      if (!ok) continue;
      if (labels_ && layout.label >= 0 && !convert_label(cells[size_t(layout.label)], n, layout.name(layout.label), ex)) continue;
      out_.examples.push_back(std::move(ex));
    }
  }

  bool take_text(const std::vector<std::string>& cells, int64_t column, const Layout& layout, int64_t n, std::string& out) {
    out = cells[size_t(column)];
    if (out.find_first_not_of(" \t") == std::string::npos) {
      bad_.report(n, layout.name(column), "empty field", "empty text");
      return false;
    }
    return true;
  }

  void check_labelled(bool has_label_column, const std::string& name) {
    out_.labelled = labels_ && has_label_column;
    if (require_labels_ && !has_label_column) {
      throw InputError(fmt::format("{}:1: {}: this file has no label column (an unlabelled test file?); training and "
                                   "evaluation need labels, qkv predict reads unlabelled files",
                                   out_.path, name));
    }
  }

  // Label text to class index, score or candidate index; reports and returns false when invalid.
  bool convert_label(const std::string& value, int64_t n, const std::string& field, Example& ex) {
    if (value.empty()) {
      bad_.report(n, field, "empty label", "empty label");
      return false;
    }
    if (task_.kind == TaskKind::kChoice) {
      char* end = nullptr;
      const long long index = std::strtoll(value.c_str(), &end, 10);
      if (*end != '\0' || index < 0 || index >= int64_t(ex.choices.size())) {
        bad_.report(n, field, "bad choice index",
                    fmt::format("expected the index of the right candidate, 0 to {}, found '{}'", ex.choices.size() - 1, value));
        return false;
      }
      ex.label = index;
      return true;
    }
    if (task_.regression) {
      char* end = nullptr;
      const double score = std::strtod(value.c_str(), &end);
      if (*end != '\0' || !std::isfinite(score)) {
        bad_.report(n, field, "not a number", fmt::format("expected a number, found '{}'", value));
        return false;
      }
      ex.score = score;
      return true;
    }
    auto it = std::find(task_.labels.begin(), task_.labels.end(), value);
    if (it == task_.labels.end()) {
      bad_.report(n, field, "unknown label",
                  fmt::format("unknown label '{}'; expected one of {} (task.labels)", value, fmt::join(task_.labels, ", ")));
      return false;
    }
    ex.label = int64_t(it - task_.labels.begin());
    return true;
  }

  // A non-empty string field of a JSONL object; false (reported) otherwise.
  bool json_text(const nlohmann::json& j, int64_t n, const std::string& key, std::string& out) {
    if (!j.contains(key)) {
      bad_.report(n, key, "missing field", "missing field");
      return false;
    }
    if (!j[key].is_string()) {
      bad_.report(n, key, "not a string", fmt::format("expected a string, found {}", j[key].type_name()));
      return false;
    }
    out = j[key].get<std::string>();
    if (out.find_first_not_of(" \t") == std::string::npos) {
      bad_.report(n, key, "empty field", "empty text");
      return false;
    }
    return true;
  }

  // A list of at least two non-empty string candidates; false (reported) otherwise.
  bool json_choices(const nlohmann::json& j, int64_t n, const std::string& key, std::vector<std::string>& out) {
    if (!j.contains(key) || !j[key].is_array() || j[key].size() < 2) {
      bad_.report(n, key, "missing field", "expected a list of at least two candidates");
      return false;
    }
    bool ok = true;
    for (const auto& c : j[key]) {
      ok = ok && c.is_string() && !c.get<std::string>().empty();
      if (ok) out.push_back(c.get<std::string>());
    }
    if (!ok) bad_.report(n, key, "not a string", "every candidate must be a non-empty string");
    return ok;
  }

  void read_jsonl() {
    const bool snli = data_.format == DataFormat::kSnli;
    const std::string text_key = snli ? "sentence1" : data_.columns.text;
    const std::string text_b_key = snli ? "sentence2" : data_.columns.text_b;
    const std::string label_key = !labels_ ? "" : snli ? "gold_label" : data_.columns.label;
    const std::string choices_key = data_.columns.choices.empty() ? "" : data_.columns.choices.front();
    out_.labelled = !label_key.empty();
    std::string line, category, problem;
    bool saw_label = false;
    while (lines_.next(line, &category, &problem)) {
      const int64_t n = lines_.line_number();
      ++out_.lines;
      if (!problem.empty()) {
        bad_.report(n, "", category, problem);
        continue;
      }
      if (line.find_first_not_of(" \t") == std::string::npos) {
        bad_.report(n, "", "empty line", "empty line");
        continue;
      }
      const auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (j.is_discarded() || !j.is_object()) {
        bad_.report(n, "", "invalid JSON", j.is_discarded() ? "not valid JSON" : "expected a JSON object");
        continue;
      }
      Example ex;
      ex.line = n;
      if (!json_text(j, n, text_key, ex.text)) continue;
      if (!text_b_key.empty() && !json_text(j, n, text_b_key, ex.text_b)) continue;
      if (!choices_key.empty() && !json_choices(j, n, choices_key, ex.choices)) continue;
      if (!label_key.empty()) {
        if (!j.contains(label_key)) {
          if (require_labels_) {
            bad_.report(n, label_key, "missing field", "missing field");
            continue;
          }
        } else {
          const auto& v = j[label_key];
          std::string value = v.is_string() ? v.get<std::string>() : v.dump();
          if (snli && value == "-") {  // no annotator majority: dropped and counted, as is usual
            bad_.drop("no gold label");
            continue;
          }
          if (!convert_label(value, n, label_key, ex)) continue;
          saw_label = true;
        }
      }
      out_.examples.push_back(std::move(ex));
    }
    if (!label_key.empty() && !require_labels_) out_.labelled = saw_label;
  }

  const DataConfig& data_;
  const TaskConfig& task_;
  bool require_labels_;
  bool labels_;  // whether the task reads labels at all (masked_lm and translate read only texts)
  LineReader lines_;
  BadLines bad_;
  ExampleFile out_;
};

}  // namespace

ExampleFile read_examples(const std::string& path, const DataConfig& data, const TaskConfig& task, bool require_labels) {
  return Reader(path, data, task, require_labels).read();
}

}  // namespace qkv
