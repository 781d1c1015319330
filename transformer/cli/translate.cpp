// qkv translate: translations of the lines of --input (or standard input), one per line, by the
// newest checkpoint (or the average of the last train.average_last, or --checkpoint), with beam
// search as task.beam and the other task.* decoding options say unless overridden here.
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iostream>

#include <fmt/format.h>

#include "transformer/cli/verbs.h"
#include "transformer/data/lines.h"
#include "transformer/util/errors.h"
#include "transformer/tasks/translate.h"
#include "transformer/train/checkpoint.h"
#include "transformer/train/precision.h"
#include "transformer/util/atomic_file.h"

namespace qkv::cli {

int run_translate(const TranslateArgs& args) {
  const auto loaded = load(args.common, /*require_data=*/false);
  const Experiment& e = loaded.experiment;
  if (e.task.kind != TaskKind::kTranslate) {
    throw InputError(fmt::format("{}: task.kind: qkv translate needs a translate experiment, not {}", e.source_file,
                                 choice_name(task_choices(), e.task.kind)));
  }
  std::vector<std::string> sources;
  if (args.input.empty() || args.input == "-") {
    for (std::string line; std::getline(std::cin, line);) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      sources.push_back(line);
    }
  } else {
    LineReader reader(args.input, e.data.max_line_bytes);
    std::string line, category, problem;
    while (reader.next(line, &category, &problem)) {
      if (!problem.empty()) throw InputError(fmt::format("{}:{}: {}", args.input, reader.line_number(), problem));
      sources.push_back(line);
    }
  }
  set_threads(e.train.threads);
  Tokenizer tokenizer = run_tokenizer(e);
  TransformerModel model = build_model(e, tokenizer);
  std::string used;
  load_weights(e, args.checkpoint, model, tokenizer, &used);
  model->eval();
  TranslateTask task(e);
  task.attach(tokenizer);
  SearchOptions options = task.search_options();
  if (args.beam > 0) options.beam = args.beam;
  if (args.greedy) options.beam = 1;
  options.use_cache = !args.no_cache;
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::string> out;
  {
    AutocastScope autocast(e.train.precision);
    out = task.translate(model, sources, e.train.batch_size, options);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::string text;
  for (const auto& line : out) text += line + "\n";
  if (args.output.empty()) fmt::print("{}", text);
  else write_file_atomic(args.output, text);
  fmt::print(stderr, "{} sentences in {:.2f} s ({:.1f} sentences/s), beam {}, {}\n", sources.size(), seconds,
             double(sources.size()) / std::max(seconds, 1e-9), options.beam, used);
  return 0;
}

}  // namespace qkv::cli
