// qkv train: tokenizer (trained when missing), model, task data, then the training loop.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>
#include <thread>

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "transformer/analysis/estimates.h"
#include "transformer/cli/verbs.h"
#include "transformer/util/errors.h"
#include "transformer/train/checkpoint.h"
#include "transformer/train/distributed.h"
#include "transformer/train/faults.h"
#include "transformer/tasks/task.h"
#include "transformer/train/precision.h"
#include "transformer/train/progress.h"
#include "transformer/train/trainer.h"
#include "transformer/util/atomic_file.h"

namespace qkv::cli {

int run_train(const TrainArgs& args) {
  const auto loaded = load(args.common, /*require_data=*/true);
  const Experiment& e = loaded.experiment;
  check_run_directory(e, args.resume);
  if (args.nproc > 1) {
    if (std::getenv("WORLD_SIZE")) throw InputError("--nproc: WORLD_SIZE is already set: a launcher started this process");
    if (e.train.batch_size / e.train.accumulate < args.nproc) {
      throw InputError(fmt::format("{}: train.batch_size: {} examples per micro-batch cannot be shared by {} ranks",
                                   e.source_file, e.train.batch_size / e.train.accumulate, args.nproc));
    }
    return launch_workers(args.nproc, args.argv);
  }
  const auto dist = Distributed::from_environment();
  set_fault_rank(dist->rank());
  if (args.resume) {
    // A finished run resumed is a no-op: say so without reading the data or building the model.
    CheckpointStore store(e.output, e.train.keep_checkpoints);
    if (auto newest = store.newest_valid()) {
      std::ifstream in(std::filesystem::path(*newest) / "trainer.json");
      const auto state = nlohmann::json::parse(in);
      const int64_t step = state.at("step").get<int64_t>();
      if (state.value("stopped_early", false)) {
        fmt::print("{}: stopped early at step {} (train.patience) ({})\n", e.name, step, *newest);
        return 0;
      }
      if (step >= e.train.steps && (args.stop_at < 0 || args.stop_at >= step)) {
        fmt::print("{}: already trained to step {} of {} ({})\n", e.name, step, e.train.steps, *newest);
        return 0;
      }
    }
  }
  // Local ranks share the cores.
  const int64_t threads = set_threads(e.train.threads > 0 ? e.train.threads
                                                          : std::max<int64_t>(1, int64_t(std::thread::hardware_concurrency()) / dist->local_world()));
  // A resumed run keeps the tokenizer it was trained with; rank 0 trains a missing one first.
  const bool has_run_tokenizer = std::filesystem::exists(std::filesystem::path(e.output) / "tokenizer.model");
  auto tokenizer_for_run = [&] { return args.resume && has_run_tokenizer ? run_tokenizer(e) : ensure_tokenizer(e, args.quiet || !dist->leader()); };
  std::optional<Tokenizer> leader_tokenizer;
  if (dist->leader()) leader_tokenizer = tokenizer_for_run();
  dist->barrier();
  Tokenizer tokenizer = leader_tokenizer ? *leader_tokenizer : tokenizer_for_run();
  auto task = make_task(e);
  task->prepare(e, tokenizer, /*need_train=*/true);
  TransformerModel model = build_model(e, tokenizer);
  TrainOptions options;
  std::optional<InitReport> init;
  if (!e.init_from.empty()) {
    // Fine-tuning: the body from the pretrained run, new parts (heads) freshly initialised. A
    // resumed run takes its weights from its own checkpoint and only needs to know which are new.
    auto pretrained = CheckpointStore(e.init_from, 1).newest_valid();
    if (!pretrained) throw InputError(fmt::format("{}: init_from: {} holds no complete checkpoint", e.source_file, e.init_from));
    const bool own = args.resume && CheckpointStore(e.output, e.train.keep_checkpoints).newest_valid().has_value();
    init = init_from_checkpoint(*pretrained, model, tokenizer.checksum(), /*load_values=*/!own);
    options.head.insert(init->initialised.begin(), init->initialised.end());
    if (!own && !args.quiet && dist->leader()) {
      fmt::print(stderr, "init_from {}: loaded {} tensors; skipped {}{}; newly initialised {}{}\n", *pretrained,
                 init->loaded.size(), init->skipped.size(), init->skipped.empty() ? "" : fmt::format(" ({})", fmt::join(init->skipped, ", ")),
                 init->initialised.size(), init->initialised.empty() ? "" : fmt::format(" ({})", fmt::join(init->initialised, ", ")));
    }
  }
  if (dist->leader()) prepare_run_directory(e, to_yaml(e), tokenizer, args.resume);
  dist->barrier();
  if (init && dist->leader()) {
    const nlohmann::ordered_json report{{"checkpoint", init->checkpoint}, {"step", init->step}, {"loaded", init->loaded},
                                        {"skipped", init->skipped},       {"initialised", init->initialised}};
    write_file_atomic((std::filesystem::path(e.output) / "init.json").string(), report.dump(2) + "\n");
  }
  options.distributed = dist.get();
  if (!args.quiet && dist->leader()) {
    const auto count = count_parameters(model);
    fmt::print(stderr, "{}: {} {} layers, d_model {}, {} position, {:.2f}M parameters; {} threads{}, {}\n", e.name,
               choice_name(family_choices(), e.model.family), e.model.layers, e.model.d_model,
               position_kind_name(e.model.position.scheme), double(count.total) / 1e6, threads,
               dist->active() ? fmt::format(" x {} ranks", dist->world()) : "",
               choice_name(precision_choices(), resolve_precision(e.train.precision)));
  }
  options.resume = args.resume;
  options.stop_at = args.stop_at;
  options.quiet = args.quiet;
  const TrainResult result = train(e, model, *task, tokenizer, options);
  if (result.signal) return 128 + result.signal;  // 130 for SIGINT, 143 for SIGTERM, as shells report
  if (!dist->leader()) return 0;
  if (result.train_seconds == 0) {
    fmt::print("{}: already trained to step {} of {}\n", e.name, result.step, e.train.steps);
    return 0;
  }
  std::string summary = fmt::format("{}: step {}/{}, {} tok/s, training {}, wall {}", e.name, result.step, e.train.steps,
                                    format_rate(result.tokens_per_s), format_duration(result.train_seconds),
                                    format_duration(result.wall_seconds));
  if (!result.valid.empty()) {
    summary += fmt::format("; valid loss {:.4f}", metric(result.valid, "loss"));
    std::vector<std::string> names{"ppl"};
    names.insert(names.end(), headline_metric_names().begin(), headline_metric_names().end());
    for (const auto& name : names)
      if (const double value = metric(result.valid, name); !std::isnan(value)) summary += fmt::format(", {} {:.4g}", name, value);
  }
  if (result.early_stopped) summary += "; stopped early (train.patience)";
  if (!result.best.empty()) summary += fmt::format("; best {}", result.best);
  fmt::print("{}\n", summary);
  return 0;
}

}  // namespace qkv::cli
