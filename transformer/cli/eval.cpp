// qkv eval: metrics of the newest checkpoint (or --checkpoint) on a split, printed as one JSON
// line and appended to metrics.jsonl.
#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "transformer/cli/common.h"
#include "transformer/util/errors.h"
#include "transformer/tasks/causal_lm.h"
#include "transformer/tasks/task.h"
#include "transformer/train/checkpoint.h"
#include "transformer/train/metrics_log.h"
#include "transformer/train/precision.h"
#include "transformer/util/atomic_file.h"

namespace qkv::cli {

namespace {

// Perplexity at each requested context length, and the mean loss at every position of each.
int eval_lengths(const Experiment& e, const std::vector<int64_t>& lengths, int64_t stride, const std::string& split_name,
                 Model& model, Task& task, Split split, int64_t step, const std::string& checkpoint) {
  auto* lm = dynamic_cast<CausalLmTask*>(&task);
  if (!lm) throw InputError(fmt::format("{}: --lengths applies to causal_lm and the generated tasks", e.source_file));
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(e.output) / "eval";
  fs::create_directories(dir);
  std::string csv = "length,position,loss\n";
  // Each block's mean loss over bands of 64 positions, so that a comparison of positions (does
  // context pay?) can be paired by block and given an interval (scripts/plot_position_loss.py).
  std::string bands = "length,block,first_position,loss\n";
  MetricsLog log((fs::path(e.output) / "metrics.jsonl").string());
  const int64_t limit = model->max_positions();
  for (int64_t length : lengths) {
    nlohmann::ordered_json line{{"step", step}, {"split", split_name}, {"length", length}};
    if (length < 1) throw InputError(fmt::format("--lengths: expected positive lengths, found {}", length));
    if (limit >= 0 && length > limit) {
      line["applicable"] = false;
      line["reason"] = fmt::format("{} positions cover {} (model.max_len)", e.model.position.scheme, limit);
      fmt::print("{}\n", line.dump());
      continue;
    }
    // Same tokens per batch at every length.
    const int64_t batch = std::max<int64_t>(1, e.train.batch_size * e.train.seq_len / length);
    std::vector<double> by_position;
    torch::Tensor by_band;
    Metrics metrics;
    try {
      metrics = lm->evaluate_at(model, split, length, batch, 0, &by_position, &by_band);
    } catch (const InputError& error) {
      line["applicable"] = false;
      line["reason"] = error.what();
      fmt::print("{}\n", line.dump());
      continue;
    }
    line["applicable"] = true;
    for (const auto& [name, value] : metrics) line[name] = value;
    if (stride > 0) {
      // Beside the non-overlapping figure, as Press et al. report both (their Table 15).
      const Metrics sliding = lm->evaluate_sliding(model, split, length, std::min(stride, length), batch);
      line["stride"] = std::min(stride, length);
      for (const auto& [name, value] : sliding) line["sliding_" + name] = value;
      metrics.insert(metrics.end(), {{"sliding_loss", sliding.at(0).second}, {"sliding_ppl", sliding.at(1).second}});
    }
    fmt::print("{}\n", line.dump());
    std::fflush(stdout);
    log.write(step, split_name, metrics, {{"length", length}, {"eval", true}});
    for (size_t p = 0; p < by_position.size(); ++p) csv += fmt::format("{},{},{:.6f}\n", length, p, by_position[p]);
    const int64_t band = std::min(CausalLmTask::kLossBand, length);
    const auto m = by_band.accessor<double, 2>();
    for (int64_t b = 0; b < m.size(0); ++b)
      for (int64_t k = 0; k < m.size(1); ++k) bands += fmt::format("{},{},{},{:.6f}\n", length, b, k * band, m[b][k]);
  }
  const std::string path = (dir / fmt::format("loss_by_position-{}.csv", split_name)).string();
  write_file_atomic(path, csv);
  write_file_atomic((dir / fmt::format("loss_by_block-{}.csv", split_name)).string(), bands);
  fmt::print(stderr, "loss by position: {} ({})\n", path, checkpoint);
  return 0;
}

int run_eval(const Invocation& in) {
  const auto loaded = load(in);
  Experiment e = loaded.experiment;
  const std::vector<int64_t> lengths = in.integers("--lengths");
  const std::string split_name = in.text("--split", "valid");
  // Generated tasks take --lengths as their evaluation lengths (exact match per length).
  const bool task_lengths = is_synthetic(e.task.kind) && !lengths.empty();
  if (task_lengths) e.task.eval_lengths = lengths;
  set_threads(e.train.threads);
  Split split;
  if (split_name == "valid") {
    split = Split::kValid;
  } else if (split_name == "test") {
    split = Split::kTest;
  } else {
    throw InputError(fmt::format("--split: expected valid or test, found '{}'", split_name));
  }
  TrainedModel trained = open_trained_model(e, in.text("--checkpoint"));
  auto task = make_task(e);
  prepare_corpora(e, trained.tokenizer);  // with --rebuild-data: encoded again first
  task->prepare(e, trained.tokenizer, /*need_train=*/false);
  if (!task->has_split(split)) throw InputError(fmt::format("{}: data.{}: not set in this experiment", e.source_file, split_name));
  torch::NoGradGuard no_grad;
  AutocastScope autocast(e.train.precision);
  if (in.integer("--stride", 0) > 0 && (lengths.empty() || task_lengths))
    throw InputError("--stride: applies with --lengths to causal_lm experiments");
  if (!lengths.empty() && !task_lengths) {
    return eval_lengths(e, lengths, in.integer("--stride", 0), split_name, trained.model, *task, split, trained.step,
                        trained.checkpoint);
  }
  const Metrics metrics = task->evaluate(trained.model, split, e.train.batch_size, /*max_batches=*/0);
  nlohmann::ordered_json line{{"step", trained.step}, {"split", split_name}, {"checkpoint", trained.checkpoint}};
  for (const auto& [name, value] : metrics) line[name] = value;
  fmt::print("{}\n", line.dump());
  if (std::filesystem::is_directory(e.output)) {
    MetricsLog((std::filesystem::path(e.output) / "metrics.jsonl").string()).write(trained.step, split_name, metrics, {{"eval", true}});
  }
  return 0;
}

const bool registered = register_runner("eval", run_eval);

}  // namespace

}  // namespace qkv::cli
