// qkv predict: one prediction per example of a file in the experiment's data format (the test
// split by default): the label and its probability, the chosen candidate, or the score. Labels in
// the file are optional; when present, the metrics go to standard error.
#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "transformer/cli/common.h"
#include "transformer/data/examples.h"
#include "transformer/util/errors.h"
#include "transformer/tasks/classify.h"
#include "transformer/train/precision.h"
#include "transformer/util/atomic_file.h"

namespace qkv::cli {

namespace {

int run_predict(const Invocation& in) {
  const auto loaded = load(in);
  const Experiment& e = loaded.experiment;
  if (!is_labelled(e.task.kind)) {
    throw InputError(fmt::format("{}: task.kind: qkv predict applies to classify, pair and choice, not {}", e.source_file,
                                 choice_name(task_choices(), e.task.kind)));
  }
  const std::string input = in.text("--input", !e.data.test.empty() ? e.data.test.single() : e.data.valid.single());
  if (input.empty()) throw InputError(fmt::format("{}: give --input FILE (the experiment has no data.test or data.valid)", e.source_file));
  set_threads(e.train.threads);
  const ExampleFile file = read_examples(input, e.data, e.task, /*require_labels=*/false);
  if (!file.dropped.empty()) fmt::print(stderr, "{}: dropped {}\n", input, file.dropped);
  TrainedModel trained = open_trained_model(e, in.text("--checkpoint"));
  ClassifyTask task(e);
  task.attach(trained.tokenizer);
  std::vector<Prediction> predictions;
  {
    AutocastScope autocast(e.train.precision);
    predictions = task.predict(trained.model, file.examples, e.train.batch_size);
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
  if (const std::string output = in.text("--output"); output.empty()) {
    fmt::print("{}", out);
  } else {
    write_file_atomic(output, out);
  }
  if (file.labelled) {
    nlohmann::ordered_json line{{"input", input}, {"checkpoint", trained.checkpoint}};
    for (const auto& [name, value] : task.score(predictions, file.examples, std::nan(""))) {
      if (name != "loss") line[name] = value;
    }
    fmt::print(stderr, "{}\n", line.dump());
  }
  return 0;
}

const bool registered = register_runner("predict", run_predict);

}  // namespace

}  // namespace qkv::cli
