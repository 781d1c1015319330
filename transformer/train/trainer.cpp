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
#include "transformer/util/random.h"

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

// The random state of a step (dropout): a function of the seed and the step alone, the same on
// every rank and for every micro-batch (train_step hashes each element's index in the whole batch).
uint64_t step_seed(int64_t seed, int64_t step) { return mix(mix(uint64_t(seed)) ^ mix(uint64_t(step) * 1000003ULL)); }

// loss, then the task's headline metrics when it reports them.
std::string summarize(const Metrics& metrics) {
  std::string text = fmt::format("loss {:.4f}", metric(metrics, "loss"));
  if (const double ppl = metric(metrics, "ppl"); !std::isnan(ppl)) text += fmt::format("  ppl {:.2f}", ppl);
  for (const auto& name : headline_metric_names())
    if (const double value = metric(metrics, name); !std::isnan(value)) text += fmt::format("  {} {:.4f}", name, value);
  return text;
}

Metrics evaluate_split(Model& model, Task& task, Split split, const TrainConfig& t) {
  model->eval();
  torch::NoGradGuard no_grad;
  AutocastScope autocast(t.precision);
  auto metrics = task.evaluate(model, split, t.batch_size, t.eval_batches);
  model->train();
  return metrics;
}

}  // namespace
namespace {

// What a checkpoint carries besides the weights and the optimizer, read and written in one place:
// with it a resumed run continues bit for bit and logs what an uninterrupted one would.
struct TrainerState {
  int64_t step = 0;
  int64_t data_position = 0;  // the next training batch
  // The loss and gradient norm logged every log_every steps average over the interval; a
  // checkpoint carries the part of the interval already run.
  double interval_loss = 0, interval_grad_norm = 0;
  int64_t interval_steps = 0;
  double best_value = std::nan("");  // train.select_metric's best so far
  int64_t best_step = -1, stale_evals = 0, nan_in_row = 0, nan_skipped = 0;
  bool stopped_early = false;

  nlohmann::json to_json(int64_t seed, int64_t world) const {
    nlohmann::json j{{"step", step},           {"data_position", data_position}, {"data_unit", "batch"},
                     {"seed", seed},           {"world_size", world},            {"interval_loss", interval_loss},
                     {"interval_grad_norm", interval_grad_norm},                 {"interval_steps", interval_steps},
                     {"best_step", best_step}, {"stale_evals", stale_evals},     {"nan_in_row", nan_in_row},
                     {"nan_skipped", nan_skipped}, {"stopped_early", stopped_early}};
    if (std::isfinite(best_value)) j["best_value"] = best_value;
    return j;
  }
  static TrainerState from_json(const nlohmann::json& j, int64_t accumulate) {
    TrainerState s;
    s.step = j.at("step").get<int64_t>();
    s.data_position = j.at("data_position").get<int64_t>();
    // Checkpoints before the data_unit key counted micro-batches (accumulate per step).
    if (!j.contains("data_unit")) s.data_position /= accumulate;
    s.interval_loss = j.value("interval_loss", 0.0);
    s.interval_grad_norm = j.value("interval_grad_norm", 0.0);
    s.interval_steps = j.value("interval_steps", int64_t(0));
    if (j.contains("best_value") && j["best_value"].is_number()) s.best_value = j["best_value"].get<double>();
    s.best_step = j.value("best_step", int64_t(-1));
    s.stale_evals = j.value("stale_evals", int64_t(0));
    s.nan_in_row = j.value("nan_in_row", int64_t(0));
    s.nan_skipped = j.value("nan_skipped", int64_t(0));
    s.stopped_early = j.value("stopped_early", false);
    return s;
  }
};

// One training run: the loop's phases (resume, step, log, evaluate, save) over the state above.
class Trainer {
 public:
  Trainer(const Experiment& e, Model& model, Task& task, const Tokenizer& tokenizer, const TrainOptions& options)
      : e_(e), t_(e.train), model_(model), task_(task), tokenizer_(tokenizer), options_(options), dist_(options.distributed),
        leader_(!dist_ || dist_->leader()), world_(dist_ ? dist_->world() : 1),
        store_(e.output, t_.keep_checkpoints), best_store_(e.output, 1, "best", ""),
        optimizer_(make_optimizer(model, t_, options.head, &first_head_group_)), progress_(t_.steps, options.quiet || !leader_),
        track_best_(is_labelled(e.task.kind) || !t_.select_metric.empty() || t_.patience > 0),
        select_(t_.select_metric.empty() ? default_select_metric(e.task) : t_.select_metric) {
    for (const auto& p : model->parameters())
      if (p.requires_grad()) params_.push_back(p);  // the trained ones: a frozen body is left out
  }

  TrainResult run() {
    const auto wall_start = Clock::now();
    if (options_.resume) resume();
    open_log();
    if (t_.batch_size / t_.accumulate < world_) {
      throw InputError(fmt::format("{}: train.batch_size: {} examples per micro-batch cannot be shared by {} ranks",
                                   e_.source_file, t_.batch_size / t_.accumulate, world_));
    }
    const int64_t last = options_.stop_at >= 0 ? std::min(options_.stop_at, t_.steps) : t_.steps;
    model_->train();
    StopSignals signals;
    int64_t saved_step = state_.step;  // the step of the checkpoint on disk, if any
    while (state_.step < last && !state_.stopped_early) {
      // Every rank stops at the same step boundary, whichever received the signal.
      const int stop = dist_ ? int(dist_->max(double(signals.received()))) : signals.received();
      if (stop) {
        stop_on_signal(stop, saved_step);
        break;
      }
      step();
      if (state_.step % t_.log_every == 0 || state_.step == t_.steps) log_interval(last);
      const bool improved = evaluate();
      if (improved) save_best();
      if ((t_.save_every > 0 && state_.step % t_.save_every == 0) || state_.step == last || state_.stopped_early) {
        save(state_.step);
        saved_step = state_.step;
      }
    }
    progress_.finish();
    if (dist_) dist_->barrier();  // rank 0's last checkpoint is written before any rank returns
    result_.step = state_.step;
    result_.early_stopped = state_.stopped_early;
    if (state_.best_step >= 0) result_.best = fmt::format("{} {:.4f} at step {}", select_, state_.best_value, state_.best_step);
    result_.train_seconds = train_seconds_;
    result_.tokens_per_s = double(trained_tokens_) / std::max(train_seconds_, 1e-9);
    result_.wall_seconds = seconds_since(wall_start);
    return result_;
  }

 private:
  void resume() {
    std::vector<std::string> skipped;
    auto newest = store_.newest_valid(&skipped);
    for (const auto& s : skipped) progress_.message(fmt::format("skipping checkpoint {}", s));
    if (!newest) return;
    const auto saved = load_checkpoint(*newest, model_, optimizer_.get(), tokenizer_.checksum());
    state_ = TrainerState::from_json(saved, t_.accumulate);
    progress_.message(fmt::format("resuming from {} (step {})", *newest, state_.step));
    const int64_t saved_world = saved.value("world_size", int64_t(1));
    if (saved_world != world_) {
      // The data order and the global batch do not depend on the number of ranks.
      progress_.message(fmt::format("resuming with {} rank{} (the run had {}): same global batch and data order", world_,
                                    world_ == 1 ? "" : "s", saved_world));
    }
  }

  void open_log() {
    if (!leader_) return;
    const std::string path = (fs::path(e_.output) / "metrics.jsonl").string();
    MetricsLog::truncate_after(path, state_.step);
    log_ = MetricsLog(path);
  }

  void save(int64_t at_step) {
    if (leader_) store_.save(at_step, model_, optimizer_.get(), state_.to_json(e_.seed, world_), tokenizer_.checksum());
  }

  void save_best() {
    nlohmann::json best{{"step", state_.step}, {"metric", select_}, {"value", state_.best_value}};
    best_store_.save(state_.step, model_, nullptr, best, tokenizer_.checksum());
  }

  // Stopped between steps: saves where it is, unless that step is saved already.
  void stop_on_signal(int stop, int64_t saved_step) {
    if (saved_step != state_.step) save(state_.step);
    progress_.finish();
    if (leader_) {
      fmt::print(stderr, "{} received: saved step {}; continue with qkv train --resume\n", stop == SIGINT ? "SIGINT" : "SIGTERM",
                 state_.step);
    }
    result_.signal = stop;
  }

  void step() {
    const auto step_start = Clock::now();
    lr_ = learning_rate(t_, state_.step);
    const double head_lr = t_.head_lr > 0 ? t_.head_lr * (t_.lr > 0 ? lr_ / t_.lr : 0.0) : lr_;
    set_learning_rate(*optimizer_, lr_, head_lr, first_head_group_);
    int64_t step_tokens = 0;
    const StepOutcome outcome = train_step(model_, task_, *optimizer_, t_, params_, state_.data_position,
                                           step_seed(e_.seed, state_.step), &step_tokens, dist_);
    ++state_.data_position;
    interval_tokens_ += step_tokens;
    trained_tokens_ += step_tokens;
    ++state_.step;
    const double took = seconds_since(step_start);
    train_seconds_ += took;
    interval_seconds_ += took;
    ++timed_steps_;
    if (outcome.applied) {
      state_.interval_loss += outcome.loss;
      state_.interval_grad_norm += outcome.grad_norm;
      ++state_.interval_steps;
      state_.nan_in_row = 0;
    } else {
      skipped(outcome);
    }
  }

  // A step whose loss or gradient was not finite: logged, and halting by train.nan_policy.
  void skipped(const StepOutcome& outcome) {
    ++state_.nan_in_row;
    ++state_.nan_skipped;
    const int64_t step = state_.step;
    if (leader_) log_.write(step, "train", {}, {{"skipped", outcome.problem}});
    if (t_.nan_policy == NanPolicy::kHalt || state_.nan_in_row >= t_.max_nan_skips) {
      progress_.finish();
      throw std::runtime_error(
          t_.nan_policy == NanPolicy::kHalt
              ? fmt::format("step {}: {}; stopped (train.nan_policy: halt), the weights of step {} are untouched", step,
                            outcome.problem, step - 1)
              : fmt::format("step {}: {}; {} steps in a row were not finite (train.max_nan_skips), stopped", step,
                            outcome.problem, state_.nan_in_row));
    }
    progress_.message(fmt::format("step {}: {}; update skipped ({} in a row)", step, outcome.problem, state_.nan_in_row));
  }

  void log_interval(int64_t last) {
    const double rate = double(interval_tokens_) / std::max(interval_seconds_, 1e-9);
    const double eta = interval_seconds_ / double(timed_steps_) * double(last - state_.step);
    const double steps = double(state_.interval_steps);
    const double mean_loss = steps > 0 ? state_.interval_loss / steps : std::nan("");
    progress_.update(state_.step, mean_loss, lr_, rate, eta);
    // An interval whose every step was skipped (non-finite) has no loss to log.
    if (leader_ && state_.interval_steps > 0) {
      log_.write(state_.step, "train", {{"loss", mean_loss}},
                 {{"grad_norm", state_.interval_grad_norm / steps}, {"lr", lr_}, {"tokens_per_s", rate}});
    }
    interval_seconds_ = state_.interval_loss = state_.interval_grad_norm = 0;
    interval_tokens_ = state_.interval_steps = timed_steps_ = 0;
  }

  // Evaluates on the validation split when due; returns whether train.select_metric improved.
  bool evaluate() {
    const bool final_step = state_.step == t_.steps;
    if (!task_.has_split(Split::kValid) || !((t_.eval_every > 0 && state_.step % t_.eval_every == 0) || final_step)) return false;
    bool improved = false;
    if (leader_) {
      auto metrics = evaluate_split(model_, task_, Split::kValid, t_);
      log_.write(state_.step, "valid", metrics);
      std::string note;
      if (track_best_) {
        const double value = metric(metrics, select_);
        improved = std::isfinite(value) && (!std::isfinite(state_.best_value) ||
                                            (higher_is_better(select_) ? value > state_.best_value : value < state_.best_value));
        if (improved) {
          state_.best_value = value, state_.best_step = state_.step, state_.stale_evals = 0;
          note = fmt::format(" (best {})", select_);
        } else {
          ++state_.stale_evals;
          if (t_.patience > 0 && state_.stale_evals >= t_.patience && !final_step) state_.stopped_early = true;
        }
      }
      progress_.message(fmt::format("step {}: valid {}{}", state_.step, summarize(metrics), note));
      if (final_step || state_.stopped_early) result_.valid = metrics;
    }
    if (dist_) state_.stopped_early = dist_->broadcast({state_.stopped_early ? 1.0 : 0.0})[0] > 0;  // rank 0 decides
    if (state_.stopped_early) {
      progress_.message(fmt::format("step {}: no better {} in {} evaluations (train.patience): stopping; best {:.4f} at step {}",
                                    state_.step, select_, state_.stale_evals, state_.best_value, state_.best_step));
      if (leader_) log_.write(state_.step, "train", {}, {{"early_stop", true}, {"best_step", state_.best_step}});
    }
    return improved;
  }

  const Experiment& e_;
  const TrainConfig& t_;
  Model& model_;
  Task& task_;
  const Tokenizer& tokenizer_;
  const TrainOptions& options_;
  const Distributed* dist_;
  const bool leader_;  // rank 0 logs, evaluates and writes checkpoints
  const int64_t world_;
  CheckpointStore store_, best_store_;  // the best checkpoint by train.select_metric lives in its own store
  size_t first_head_group_ = 0;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  Progress progress_;
  // The best checkpoint is kept for the labelled tasks or when asked for; train.patience
  // evaluations without improvement stop the run.
  const bool track_best_;
  const std::string select_;
  std::vector<torch::Tensor> params_;
  MetricsLog log_;
  TrainerState state_;
  TrainResult result_;
  double lr_ = 0, train_seconds_ = 0, interval_seconds_ = 0;
  int64_t interval_tokens_ = 0, trained_tokens_ = 0, timed_steps_ = 0;  // timed: run by this process
};

}  // namespace

TrainResult train(const Experiment& e, Model& model, Task& task, const Tokenizer& tokenizer, const TrainOptions& options) {
  return Trainer(e, model, task, tokenizer, options).run();
}

}  // namespace qkv
