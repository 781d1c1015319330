// Training loop.
#include "transformer/train/trainer.h"

#include <ATen/CPUGeneratorImpl.h>

#include <chrono>
#include <cmath>
#include <csignal>
#include <filesystem>

#include <fmt/format.h>

#include "transformer/util/errors.h"
#include "transformer/train/checkpoint.h"
#include "transformer/train/faults.h"
#include "transformer/train/metrics_log.h"
#include "transformer/train/optimizer.h"
#include "transformer/train/precision.h"
#include "transformer/train/progress.h"
#include "transformer/train/schedule.h"
#include "transformer/util/atomic_file.h"

namespace qkv {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

volatile std::sig_atomic_t g_stop_signal = 0;

void on_stop_signal(int signal) {
  g_stop_signal = signal;
  std::signal(signal, SIG_DFL);  // a second signal ends the process
}

// Catches SIGINT and SIGTERM for the lifetime of the training loop.
class StopSignals {
 public:
  StopSignals() {
    g_stop_signal = 0;
    previous_int_ = std::signal(SIGINT, on_stop_signal);
    previous_term_ = std::signal(SIGTERM, on_stop_signal);
  }
  ~StopSignals() {
    std::signal(SIGINT, previous_int_);
    std::signal(SIGTERM, previous_term_);
  }
  int received() const { return g_stop_signal; }

 private:
  void (*previous_int_)(int);
  void (*previous_term_)(int);
};

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

uint64_t mix(uint64_t x) {  // splitmix64 finaliser
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// The random state of a step (dropout): a function of the seed, the step and the rank.
void seed_step(int64_t seed, int64_t step, int64_t rank) {
  torch::manual_seed(mix(mix(uint64_t(seed)) ^ mix(uint64_t(step) * 1000003ULL + uint64_t(rank))));
}

// loss, then the task's headline metrics when it reports them.
std::string summarize(const Metrics& metrics) {
  std::string text = fmt::format("loss {:.4f}", metric(metrics, "loss"));
  if (const double ppl = metric(metrics, "ppl"); !std::isnan(ppl)) text += fmt::format("  ppl {:.2f}", ppl);
  for (const auto& name : headline_metric_names())
    if (const double value = metric(metrics, name); !std::isnan(value)) text += fmt::format("  {} {:.4f}", name, value);
  return text;
}

double gradient_norm(const std::vector<torch::Tensor>& params) {
  double sum = 0;
  for (const auto& p : params)
    if (p.grad().defined()) sum += p.grad().to(torch::kFloat64).pow(2).sum().item<double>();
  return std::sqrt(sum);
}

std::string first_non_finite_gradient(TransformerModel& model) {
  for (const auto& p : model->named_parameters())
    if (p.value().grad().defined() && !torch::isfinite(p.value().grad()).all().item<bool>()) return p.key();
  return "(a parameter)";
}

// Drops every gradient instead of zeroing it (LibTorch 1.13's zero_grad fills them with zeros): the
// backward then hands each parameter its fresh gradient instead of adding it into zeros, which
// saves writing and rereading a float32 copy of the model each step, and the gradients take no
// memory during the forward (large bench config: step 0.98x, peak RSS 1118 to 1031 MiB). A
// parameter the step does not reach keeps no gradient and the optimizer leaves it alone, as
// PyTorch 2's default zero_grad(set_to_none=True) does.
void release_gradients(torch::optim::Optimizer& optimizer) {
  for (auto& group : optimizer.param_groups())
    for (auto& p : group.params()) p.mutable_grad() = torch::Tensor();
}

Metrics evaluate_split(TransformerModel& model, Task& task, Split split, const TrainConfig& t) {
  model->eval();
  torch::NoGradGuard no_grad;
  AutocastScope autocast(t.precision);
  auto metrics = task.evaluate(model, split, t.batch_size, t.eval_batches);
  model->train();
  return metrics;
}

}  // namespace

StepOutcome train_step(TransformerModel& model, Task& task, torch::optim::Optimizer& optimizer, const TrainConfig& t,
                       const std::vector<torch::Tensor>& params, int64_t first_batch, int64_t micro_batch_size,
                       int64_t* tokens, const Distributed* dist) {
  release_gradients(optimizer);
  StepOutcome outcome;
  const int64_t step = first_batch / t.accumulate;
  int64_t step_tokens = 0;
  for (int64_t a = 0; a < t.accumulate; ++a) {
    TaskBatch batch = task.train_batch(first_batch + a, micro_batch_size);
    if (dist) batch = shard_batch(batch, dist->rank(), dist->world());
    torch::Tensor loss;
    {
      AutocastScope autocast(t.precision);
      loss = task.loss(model, batch) / double(t.accumulate);
    }
    loss = inject_fault("loss", step, loss);
    loss.backward();  // outside autocast, as the autocast documentation recommends
    outcome.loss += loss.item<double>();
    step_tokens += batch.tokens_count;
  }
  inject_gradient_fault(params, step);
  if (dist && dist->active()) {
    dist->average_gradients(params);
    outcome.loss = dist->sum(outcome.loss) / double(dist->world());  // NaN on any rank is NaN on all
    step_tokens = int64_t(dist->sum(double(step_tokens)));
  }
  if (tokens) *tokens += step_tokens;
  if (!std::isfinite(outcome.loss)) {
    outcome.problem = fmt::format("loss is {}", outcome.loss);
  } else {
    // The gradient norm, clipped when train.clip is set; a NaN or Inf anywhere makes it non-finite.
    const double norm = t.clip > 0 ? torch::nn::utils::clip_grad_norm_(params, t.clip) : gradient_norm(params);
    if (!std::isfinite(norm)) outcome.problem = fmt::format("gradient of {} is not finite", first_non_finite_gradient(model));
  }
  if (!outcome.problem.empty()) {
    release_gradients(optimizer);
    outcome.applied = false;
    return outcome;
  }
  optimizer.step();
  return outcome;
}

void check_run_directory(const Experiment& e, bool resume) {
  const fs::path checkpoints = fs::path(e.output) / "checkpoints";
  if (!resume && fs::exists(checkpoints) && !fs::is_empty(checkpoints)) {
    throw InputError(fmt::format("{}: {}: already holds checkpoints of an earlier run; pass --resume to continue it, "
                                 "or choose another output directory",
                                 e.source_file, e.output));
  }
}

void prepare_run_directory(const Experiment& e, const std::string& config_yaml, const Tokenizer& tokenizer, bool resume) {
  check_run_directory(e, resume);
  const fs::path run(e.output);
  std::error_code ec;
  fs::create_directories(run, ec);
  if (ec) throw std::runtime_error(fmt::format("{}: cannot create the run directory: {}", e.output, ec.message()));
  write_file_atomic((run / "config.yaml").string(), config_yaml);
  auto keep_copy = [&](const Tokenizer& t, const char* name) {  // the run keeps the tokenizers it was trained with
    const fs::path copy = run / name;
    if (t.path().empty() || fs::weakly_canonical(t.path()) == fs::weakly_canonical(copy)) return;
    std::ifstream in(t.path(), std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    write_file_atomic(copy.string(), bytes.str());
  };
  keep_copy(tokenizer, "tokenizer.model");
  if (tokenizer.has_separate_target()) keep_copy(tokenizer.target(), "target_tokenizer.model");
}

TrainResult train(const Experiment& e, TransformerModel& model, Task& task, const Tokenizer& tokenizer,
                  const TrainOptions& options) {
  const TrainConfig& t = e.train;
  const auto wall_start = Clock::now();
  const Distributed* dist = options.distributed;
  const bool leader = !dist || dist->leader();  // rank 0 logs, evaluates and writes checkpoints
  const int64_t rank = dist ? dist->rank() : 0, world = dist ? dist->world() : 1;
  CheckpointStore store(e.output, t.keep_checkpoints);
  size_t first_head_group = 0;
  auto optimizer = make_optimizer(model, t, options.head, &first_head_group);
  const std::string metrics_path = (fs::path(e.output) / "metrics.jsonl").string();
  Progress progress(t.steps, options.quiet || !leader);

  // The best checkpoint by train.select_metric, kept for the labelled tasks or when asked for;
  // train.patience evaluations without improvement stop the run.
  const bool track_best = is_labelled(e.task.kind) || !t.select_metric.empty() || t.patience > 0;
  const std::string select = t.select_metric.empty() ? default_select_metric(e.task) : t.select_metric;
  CheckpointStore best_store(e.output, 1, "best", "");

  int64_t step = 0, data_position = 0;
  // The loss logged every log_every steps averages over the interval; a checkpoint carries the
  // part of the interval already run, so a resumed run logs what an uninterrupted one would.
  double interval_loss = 0;
  int64_t interval_steps = 0;
  double best_value = std::nan("");
  int64_t best_step = -1, stale_evals = 0, nan_in_row = 0, nan_skipped = 0;
  bool stopped_early = false;
  if (options.resume) {
    std::vector<std::string> skipped;
    auto newest = store.newest_valid(&skipped);
    for (const auto& s : skipped) progress.message(fmt::format("skipping checkpoint {}", s));
    if (newest) {
      auto state = load_checkpoint(*newest, model, optimizer.get(), tokenizer.checksum());
      step = state.at("step").get<int64_t>();
      data_position = state.at("data_position").get<int64_t>();
      interval_loss = state.value("interval_loss", 0.0);
      interval_steps = state.value("interval_steps", int64_t(0));
      if (state.contains("best_value") && state["best_value"].is_number()) best_value = state["best_value"].get<double>();
      best_step = state.value("best_step", int64_t(-1));
      stale_evals = state.value("stale_evals", int64_t(0));
      nan_in_row = state.value("nan_in_row", int64_t(0));
      nan_skipped = state.value("nan_skipped", int64_t(0));
      stopped_early = state.value("stopped_early", false);
      progress.message(fmt::format("resuming from {} (step {})", *newest, step));
      const int64_t saved_world = state.value("world_size", int64_t(1));
      if (saved_world != world) {
        // The data order and the global batch do not depend on the number of ranks.
        progress.message(fmt::format("resuming with {} rank{} (the run had {}): same global batch and data order", world,
                                     world == 1 ? "" : "s", saved_world));
      }
    }
  }
  MetricsLog log;
  if (leader) {
    MetricsLog::truncate_after(metrics_path, step);
    log = MetricsLog(metrics_path);
  }

  auto save = [&](int64_t at_step) {
    if (!leader) return;
    nlohmann::json state{{"step", at_step},         {"data_position", data_position}, {"seed", e.seed},
                         {"world_size", world},     {"interval_loss", interval_loss}, {"interval_steps", interval_steps},
                         {"best_step", best_step},  {"stale_evals", stale_evals},     {"nan_in_row", nan_in_row},
                         {"nan_skipped", nan_skipped}, {"stopped_early", stopped_early}};
    if (std::isfinite(best_value)) state["best_value"] = best_value;
    store.save(at_step, model, optimizer.get(), state, tokenizer.checksum());
  };

  const int64_t micro = t.batch_size / t.accumulate;
  if (micro < world) {
    throw InputError(fmt::format("{}: train.batch_size: {} examples per micro-batch cannot be shared by {} ranks", e.source_file,
                                 micro, world));
  }
  const int64_t last = options.stop_at >= 0 ? std::min(options.stop_at, t.steps) : t.steps;
  TrainResult result;
  double train_seconds = 0, interval_seconds = 0;
  int64_t interval_tokens = 0, trained_tokens = 0, timed_steps = 0;  // timed: run by this process
  std::vector<torch::Tensor> params;  // the trained ones: a frozen body is left out
  for (const auto& p : model->parameters())
    if (p.requires_grad()) params.push_back(p);
  model->train();
  StopSignals signals;
  int64_t saved_step = step;  // the step of the checkpoint on disk, if any

  while (step < last && !stopped_early) {
    // Every rank stops at the same step boundary, whichever received the signal.
    const int stop = dist ? int(dist->max(double(signals.received()))) : signals.received();
    if (stop) {
      // Stopped between steps: save where we are, unless that step is saved already.
      if (saved_step != step) save(step);
      progress.finish();
      if (leader) {
        fmt::print(stderr, "{} received: saved step {}; continue with qkv train --resume\n", stop == SIGINT ? "SIGINT" : "SIGTERM", step);
      }
      result.signal = stop;
      break;
    }
    const auto step_start = Clock::now();
    const double lr = learning_rate(t, step);
    const double head_lr = t.head_lr > 0 ? t.head_lr * (t.lr > 0 ? lr / t.lr : 0.0) : lr;
    set_learning_rate(*optimizer, lr, head_lr, first_head_group);
    seed_step(e.seed, step, rank);
    int64_t step_tokens = 0;
    const StepOutcome outcome = train_step(model, task, *optimizer, t, params, data_position, micro, &step_tokens, dist);
    data_position += t.accumulate;
    interval_tokens += step_tokens;
    trained_tokens += step_tokens;
    ++step;
    const double took = seconds_since(step_start);
    train_seconds += took;
    interval_seconds += took;
    ++timed_steps;
    if (outcome.applied) {
      interval_loss += outcome.loss;
      ++interval_steps;
      nan_in_row = 0;
    } else {
      ++nan_in_row;
      ++nan_skipped;
      if (leader) log.write(step, "train", {}, {{"skipped", outcome.problem}});
      const bool halt = t.nan_policy == NanPolicy::kHalt || nan_in_row >= t.max_nan_skips;
      if (halt) {
        progress.finish();
        throw std::runtime_error(
            t.nan_policy == NanPolicy::kHalt
                ? fmt::format("step {}: {}; stopped (train.nan_policy: halt), the weights of step {} are untouched", step, outcome.problem, step - 1)
                : fmt::format("step {}: {}; {} steps in a row were not finite (train.max_nan_skips), stopped", step, outcome.problem, nan_in_row));
      }
      progress.message(fmt::format("step {}: {}; update skipped ({} in a row)", step, outcome.problem, nan_in_row));
    }

    if (step % t.log_every == 0 || step == t.steps) {
      const double rate = double(interval_tokens) / std::max(interval_seconds, 1e-9);
      const double eta = interval_seconds / double(timed_steps) * double(last - step);
      const double mean_loss = interval_steps > 0 ? interval_loss / double(interval_steps) : std::nan("");
      progress.update(step, mean_loss, lr, rate, eta);
      // An interval whose every step was skipped (non-finite) has no loss to log.
      if (leader && interval_steps > 0) log.write(step, "train", {{"loss", mean_loss}}, {{"lr", lr}, {"tokens_per_s", rate}});
      interval_seconds = interval_loss = 0;
      interval_tokens = interval_steps = timed_steps = 0;
    }
    const bool final_step = step == t.steps;
    bool improved = false;
    if (task.has_split(Split::kValid) && ((t.eval_every > 0 && step % t.eval_every == 0) || final_step)) {
      if (leader) {
        auto metrics = evaluate_split(model, task, Split::kValid, t);
        log.write(step, "valid", metrics);
        std::string note;
        if (track_best) {
          const double value = metric(metrics, select);
          improved = std::isfinite(value) &&
                     (!std::isfinite(best_value) || (higher_is_better(select) ? value > best_value : value < best_value));
          if (improved) {
            best_value = value, best_step = step, stale_evals = 0;
            note = fmt::format(" (best {})", select);
          } else {
            ++stale_evals;
            if (t.patience > 0 && stale_evals >= t.patience && !final_step) stopped_early = true;
          }
        }
        progress.message(fmt::format("step {}: valid {}{}", step, summarize(metrics), note));
        if (final_step || stopped_early) result.valid = metrics;
      }
      if (dist) stopped_early = dist->broadcast({stopped_early ? 1.0 : 0.0})[0] > 0;  // rank 0 decides
    }
    if (improved) {
      nlohmann::json state{{"step", step}, {"metric", select}, {"value", best_value}};
      best_store.save(step, model, nullptr, state, tokenizer.checksum());
    }
    if (stopped_early) {
      progress.message(fmt::format("step {}: no better {} in {} evaluations (train.patience): stopping; best {:.4f} at step {}",
                                   step, select, stale_evals, best_value, best_step));
      if (leader) log.write(step, "train", {}, {{"early_stop", true}, {"best_step", best_step}});
    }
    if ((t.save_every > 0 && step % t.save_every == 0) || step == last || stopped_early) {
      save(step);
      saved_step = step;
    }
  }
  progress.finish();
  if (dist) dist->barrier();  // rank 0's last checkpoint is written before any rank returns
  result.step = step;
  result.early_stopped = stopped_early;
  if (best_step >= 0) result.best = fmt::format("{} {:.4f} at step {}", select, best_value, best_step);
  result.train_seconds = train_seconds;
  result.tokens_per_s = double(trained_tokens) / std::max(train_seconds, 1e-9);
  result.wall_seconds = seconds_since(wall_start);
  return result;
}

}  // namespace qkv
