// qkv predict: one prediction per example of a file in the experiment's data format (the test
// split by default): the label and its probability, the chosen candidate, or the score. Labels in
// the file are optional; when present, the metrics go to standard error.
#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "transformer/cli/verbs.h"
#include "transformer/data/examples.h"
#include "transformer/util/errors.h"
#include "transformer/tasks/classify.h"
#include "transformer/train/checkpoint.h"
#include "transformer/train/precision.h"
#include "transformer/util/atomic_file.h"

namespace qkv::cli {

int run_predict(const PredictArgs& args) {
  const auto loaded = load(args.common, /*require_data=*/false);
  const Experiment& e = loaded.experiment;
  if (!is_labelled(e.task.kind)) {
    throw InputError(fmt::format("{}: task.kind: qkv predict applies to classify, pair and choice, not {}", e.source_file,
                                 choice_name(task_choices(), e.task.kind)));
  }
  const std::string input = !args.input.empty() ? args.input : !e.data.test.empty() ? e.data.test : e.data.valid;
  if (input.empty()) throw InputError(fmt::format("{}: give --input FILE (the experiment has no data.test or data.valid)", e.source_file));
  set_threads(e.train.threads);
  const ExampleFile file = read_examples(input, e.data, e.task, /*require_labels=*/false);
  if (!file.dropped.empty()) fmt::print(stderr, "{}: dropped {}\n", input, file.dropped);
  const std::string checkpoint = find_checkpoint(e, args.checkpoint);
  Tokenizer tokenizer = run_tokenizer(e);
  TransformerModel model = build_model(e, tokenizer);
  load_checkpoint(checkpoint, model, nullptr, tokenizer.checksum());
  model->eval();
  ClassifyTask task(e);
  task.attach(tokenizer);
  std::vector<Prediction> predictions;
  {
    AutocastScope autocast(e.train.precision);
    predictions = task.predict(model, file.examples, e.train.batch_size);
  }

  // One line per example, tab-separated, with the line of the input it came from.
  const bool regression = e.task.regression;
  std::string out = regression ? "line\tscore\n" : e.task.kind == TaskKind::kChoice ? "line\tchoice\tprobability\n" : "line\tlabel\tprobability\n";
  for (size_t i = 0; i < predictions.size(); ++i) {
    const auto& p = predictions[i];
    const int64_t line = file.examples[i].line;
    if (regression) out += fmt::format("{}\t{:.6g}\n", line, p.score);
    else if (e.task.kind == TaskKind::kChoice) out += fmt::format("{}\t{}\t{:.6f}\n", line, p.label, p.probability);
    else out += fmt::format("{}\t{}\t{:.6f}\n", line, e.task.labels[size_t(p.label)], p.probability);
  }
  if (args.output.empty()) {
    fmt::print("{}", out);
  } else {
    write_file_atomic(args.output, out);
  }
  if (file.labelled) {
    nlohmann::ordered_json line{{"input", input}, {"checkpoint", checkpoint}};
    for (const auto& [name, value] : task.score(predictions, file.examples, std::nan(""))) {
      if (name != "loss") line[name] = value;
    }
    fmt::print(stderr, "{}\n", line.dump());
  }
  return 0;
}

}  // namespace qkv::cli
