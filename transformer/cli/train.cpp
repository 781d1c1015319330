// qkv train: tokenizer (trained when missing), model, task data, then the training loop.
#include <cmath>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "transformer/cli/verbs.h"
#include "transformer/train/checkpoint.h"
#include "transformer/tasks/task.h"
#include "transformer/train/precision.h"
#include "transformer/train/progress.h"
#include "transformer/train/trainer.h"

namespace qkv::cli {

int run_train(const TrainArgs& args) {
  const auto loaded = load(args.common, /*require_data=*/true);
  const Experiment& e = loaded.experiment;
  check_run_directory(e, args.resume);
  if (args.resume) {
    // A finished run resumed is a no-op: say so without reading the data or building the model.
    CheckpointStore store(e.output, e.train.keep_checkpoints);
    if (auto newest = store.newest_valid()) {
      std::ifstream in(std::filesystem::path(*newest) / "trainer.json");
      const int64_t step = nlohmann::json::parse(in).at("step").get<int64_t>();
      if (step >= e.train.steps && (args.stop_at < 0 || args.stop_at >= step)) {
        fmt::print("{}: already trained to step {} of {} ({})\n", e.name, step, e.train.steps, *newest);
        return 0;
      }
    }
  }
  const int64_t threads = set_threads(e.train.threads);
  // A resumed run keeps the tokenizer it was trained with.
  const bool has_run_tokenizer = std::filesystem::exists(std::filesystem::path(e.output) / "tokenizer.model");
  Tokenizer tokenizer = args.resume && has_run_tokenizer ? run_tokenizer(e) : ensure_tokenizer(e, args.quiet);
  auto task = make_task(e);
  task->prepare(e, tokenizer, /*need_train=*/true);
  TransformerModel model = build_model(e, tokenizer.vocab_size());
  prepare_run_directory(e, to_yaml(e), tokenizer, args.resume);
  if (!args.quiet) {
    const auto count = count_parameters(model);
    fmt::print(stderr, "{}: {} {} layers, d_model {}, {} position, {:.2f}M parameters; {} threads, {}\n", e.name,
               choice_name(family_choices(), e.model.family), e.model.layers, e.model.d_model,
               position_kind_name(e.model.position.scheme), double(count.total) / 1e6, threads,
               choice_name(precision_choices(), resolve_precision(e.train.precision)));
  }
  TrainOptions options;
  options.resume = args.resume;
  options.stop_at = args.stop_at;
  options.quiet = args.quiet;
  const TrainResult result = train(e, model, *task, tokenizer, options);
  if (result.signal) return 128 + result.signal;  // 130 for SIGINT, 143 for SIGTERM, as shells report
  if (result.train_seconds == 0) {
    fmt::print("{}: already trained to step {} of {}\n", e.name, result.step, e.train.steps);
    return 0;
  }
  std::string summary = fmt::format("{}: step {}/{}, {} tok/s, training {}, wall {}", e.name, result.step, e.train.steps,
                                    format_rate(result.tokens_per_s), format_duration(result.train_seconds),
                                    format_duration(result.wall_seconds));
  if (!result.valid.empty()) {
    summary += fmt::format("; valid loss {:.4f}", metric(result.valid, "loss"));
    for (const char* name : {"ppl", "exact"})
      if (const double value = metric(result.valid, name); !std::isnan(value)) summary += fmt::format(", {} {:.4g}", name, value);
  }
  fmt::print("{}\n", summary);
  return 0;
}

}  // namespace qkv::cli
