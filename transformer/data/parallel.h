// Sentence pairs for translation: line-aligned files PREFIX.SOURCE and PREFIX.TARGET
// (data.format: parallel; files of different lengths are an error naming both files and both
// counts), or the text (source) and text_b (target) fields of tsv, csv or jsonl files. Bad lines
// on either side follow data.on_error; a dropped line drops its pair.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "transformer/config/config.h"

namespace qkv {

struct SentencePair {
  std::string source, target;
  int64_t line = 0;
};

// `dropped`, when given, receives what skip mode dropped ("3 empty line"), empty when nothing.
std::vector<SentencePair> read_pairs(const std::string& path, const DataConfig& data, const TaskConfig& task,
                                     std::string* dropped = nullptr);

}  // namespace qkv
