// Labelled examples from data files: the GLUE tasks' TSV files exactly as distributed
// (glue/cola .. glue/wnli, train, dev and unlabelled test layouts), SNLI/MNLI JSONL, and
// generic TSV, CSV (RFC 4180 quoting) and JSONL with the columns named in data.columns. Labels
// are mapped to class indices by task.labels; regression reads scores; choice reads the index of
// the right candidate. Bad lines follow data.on_error (see data/lines.h).
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "transformer/config/config.h"

namespace qkv {

struct Example {
  std::string text, text_b;          // text_b: the second sentence of a pair
  std::vector<std::string> choices;  // choice: the candidates, each scored after text
  int64_t label = -1;                // class index, or the right candidate; -1: unlabelled
  double score = std::nan("");       // regression target
  int64_t line = 0;                  // where the example starts in its file
};

struct ExampleFile {
  std::string path;
  std::vector<Example> examples;
  int64_t lines = 0;      // data lines read, header excluded
  bool labelled = false;  // whether the file carries labels (GLUE test files do not)
  std::string dropped;    // what was dropped and why ("3 no gold label"); empty when nothing
};

// Reads one split. require_labels: a file without a label column is an error (training and
// evaluation); otherwise labels are read when present (prediction).
ExampleFile read_examples(const std::string& path, const DataConfig& data, const TaskConfig& task, bool require_labels);

// Splits one line of a TSV file at every tab (no quoting: GLUE's files hold literal quotes).
std::vector<std::string> split_tsv(const std::string& line);

}  // namespace qkv
