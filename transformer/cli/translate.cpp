// qkv translate: translations of the lines of --input (or standard input), one per line, by the
// newest checkpoint (or the average of the last train.average_last, or --checkpoint), with beam
// search as task.beam and the other task.* decoding options say unless overridden here.
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iostream>

#include <fmt/format.h>

#include "transformer/cli/common.h"
#include "transformer/data/lines.h"
#include "transformer/util/errors.h"
#include "transformer/tasks/translate.h"
#include "transformer/train/precision.h"
#include "transformer/util/atomic_file.h"

namespace qkv::cli {

namespace {

int run_translate(const Invocation& in) {
  const auto loaded = load(in);
  const Experiment& e = loaded.experiment;
  // A denoise run reads its lines as sources too: it writes them back with each <mask> filled in.
  if (e.task.kind != TaskKind::kTranslate && e.task.kind != TaskKind::kDenoise) {
    throw InputError(fmt::format("{}: task.kind: qkv translate needs a translate or denoise experiment, not {}", e.source_file,
                                 choice_name(task_choices(), e.task.kind)));
  }
  std::vector<std::string> sources;
  const std::string input = in.text("--input");
  if (input.empty() || input == "-") {
    for (std::string line; std::getline(std::cin, line);) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      sources.push_back(line);
    }
  } else {
    LineReader reader(input, e.data.max_line_bytes);
    std::string line, category, problem;
    while (reader.next(line, &category, &problem)) {
      if (!problem.empty()) throw InputError(fmt::format("{}:{}: {}", input, reader.line_number(), problem));
      sources.push_back(line);
    }
  }
  set_threads(e.train.threads);
  TrainedModel trained = open_trained_model(e, in.text("--checkpoint"));
  TranslateTask task(e);
  task.attach(trained.tokenizer);
  SearchOptions options = task.search_options();
  options.beam = in.flag("--greedy") ? 1 : in.integer("--beam", options.beam);
  options.use_cache = !in.flag("--no-cache");
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::string> out;
  {
    AutocastScope autocast(e.train.precision);
    out = task.translate(trained.model, sources, e.train.batch_size, options);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::string text;
  for (const auto& line : out) text += line + "\n";
  if (const std::string output = in.text("--output"); output.empty()) {
    fmt::print("{}", text);
  } else {
    write_file_atomic(output, text);
  }
  fmt::print(stderr, "{} sentences in {:.2f} s ({:.1f} sentences/s), beam {}, {}\n", sources.size(), seconds,
             double(sources.size()) / std::max(seconds, 1e-9), options.beam, trained.checkpoint);
  return 0;
}

const bool registered = register_runner("translate", run_translate);

}  // namespace

}  // namespace qkv::cli
