// qkv word2vec: word vectors of the experiment's training text (data.train, one sentence or verse
// per line) by skip-gram with negative sampling, written in word2vec's text format, which
// model.embedding_init and other tools read; --similar prints nearest neighbours.
#include <chrono>
#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "transformer/analysis/embedding_map.h"
#include "transformer/cli/common.h"
#include "transformer/data/lines.h"
#include "transformer/train/precision.h"
#include "transformer/train/word2vec.h"
#include "transformer/util/errors.h"
#include "transformer/util/expand_paths.h"

namespace qkv::cli {

namespace {

std::vector<std::vector<std::string>> read_sentences(const Experiment& e) {
  const ExpandedPaths files = expand_paths(e.data.train.items);
  if (!files.problem.empty()) throw InputError(fmt::format("{}: data.train: {}", e.source_file, files.problem));
  std::vector<std::vector<std::string>> sentences;
  for (const auto& path : files.files) {
    LineReader reader(path, e.data.max_line_bytes);
    std::string line, category, problem;
    while (reader.next(line, &category, &problem)) {
      if (!problem.empty()) throw InputError(fmt::format("{}:{}: text: {}", path, reader.line_number(), problem));
      auto words = word2vec_words(line);
      if (!words.empty()) sentences.push_back(std::move(words));
    }
  }
  return sentences;
}

void report_progress(double fraction, double loss) {
  fmt::print(stderr, "\rword2vec: {:5.1f}%  loss {:.4f}", 100.0 * fraction, loss);
}

int run_word2vec(const Invocation& in) {
  const auto loaded = load(in);
  const Experiment& e = loaded.experiment;
  set_threads(e.train.threads);
  Word2VecOptions o;
  o.dim = in.integer("--dim", o.dim);
  o.window = in.integer("--window", o.window);
  o.negatives = in.integer("--negatives", o.negatives);
  o.min_count = in.integer("--min-count", o.min_count);
  o.epochs = in.integer("--epochs", o.epochs);
  o.subsample = in.number("--subsample", o.subsample);
  o.seed = uint64_t(e.seed);
  const std::string output = in.text("--output", (std::filesystem::path(e.output) / "word2vec.txt").string());
  const auto start = std::chrono::steady_clock::now();
  const auto sentences = read_sentences(e);
  const WordVectors vectors = train_word2vec(sentences, o, report_progress);
  fmt::print(stderr, "\n");
  if (std::filesystem::path(output).has_parent_path()) std::filesystem::create_directories(std::filesystem::path(output).parent_path());
  write_word_vectors(vectors, output);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  nlohmann::ordered_json line{{"output", output}, {"words", vectors.words.size()}, {"sentences", sentences.size()},
                              {"dim", o.dim}, {"seconds", seconds}};
  for (const auto& word : in.texts("--similar")) {
    const int64_t a = vectors.index(word);
    if (a < 0) {
      line["similar"][word] = nullptr;
      continue;
    }
    nlohmann::ordered_json near = nlohmann::ordered_json::array();
    for (const auto& n : nearest_rows(vectors.vectors, vectors.vectors[a], 8, {a}))
      near.push_back({vectors.words[size_t(n.index)], std::round(n.cosine * 1000) / 1000});
    line["similar"][word] = near;
  }
  fmt::print("{}\n", line.dump());
  return 0;
}

const bool registered = register_runner("word2vec", run_word2vec);

}  // namespace

}  // namespace qkv::cli
