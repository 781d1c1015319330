// qkv eval: metrics of the newest checkpoint (or --checkpoint) on a split, printed as one JSON
// line and appended to metrics.jsonl.
#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "transformer/cli/verbs.h"
#include "transformer/errors.h"
#include "transformer/tasks/task.h"
#include "transformer/train/checkpoint.h"
#include "transformer/train/metrics_log.h"
#include "transformer/train/precision.h"

namespace qkv::cli {

int run_eval(const EvalArgs& args) {
  const auto loaded = load(args.common, /*require_data=*/true);
  const Experiment& e = loaded.experiment;
  set_threads(e.train.threads);
  Split split;
  if (args.split == "valid") {
    split = Split::kValid;
  } else if (args.split == "test") {
    split = Split::kTest;
  } else {
    throw InputError(fmt::format("--split: expected valid or test, found '{}'", args.split));
  }
  const std::string checkpoint = find_checkpoint(e, args.checkpoint);
  Tokenizer tokenizer = run_tokenizer(e);
  auto task = make_task(e);
  task->prepare(e, tokenizer, /*need_train=*/false);
  if (!task->has_split(split)) throw InputError(fmt::format("{}: data.{}: not set in this experiment", e.source_file, args.split));
  TransformerModel model = build_model(e, tokenizer.vocab_size());
  const auto state = load_checkpoint(checkpoint, model, nullptr, tokenizer.checksum());
  const int64_t step = state.at("step").get<int64_t>();
  model->eval();
  torch::NoGradGuard no_grad;
  AutocastScope autocast(e.train.precision);
  const Metrics metrics = task->evaluate(model, split, e.train.batch_size, /*max_batches=*/0);
  nlohmann::ordered_json line{{"step", step}, {"split", args.split}, {"checkpoint", checkpoint}};
  for (const auto& [name, value] : metrics) line[name] = value;
  fmt::print("{}\n", line.dump());
  if (std::filesystem::is_directory(e.output)) {
    MetricsLog((std::filesystem::path(e.output) / "metrics.jsonl").string()).write(step, args.split, metrics, {{"eval", true}});
  }
  return 0;
}

}  // namespace qkv::cli
