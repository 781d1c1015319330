// Training loop.
#include "transformer/train/trainer.h"

#include <ATen/CPUGeneratorImpl.h>

#include <chrono>
#include <cmath>
#include <csignal>
#include <filesystem>

#include <fmt/format.h>

#include "transformer/errors.h"
#include "transformer/train/checkpoint.h"
#include "transformer/train/metrics_log.h"
#include "transformer/train/optimizer.h"
#include "transformer/train/precision.h"
#include "transformer/train/progress.h"
#include "transformer/train/schedule.h"

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

std::string rng_state_hex() {
  auto generator = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(generator.mutex());
  auto state = generator.get_state();
  std::string hex;
  hex.reserve(size_t(state.numel()) * 2);
  const auto* bytes = state.data_ptr<uint8_t>();
  for (int64_t i = 0; i < state.numel(); ++i) hex += fmt::format("{:02x}", bytes[i]);
  return hex;
}

void restore_rng_state(const std::string& hex) {
  auto state = torch::empty({int64_t(hex.size() / 2)}, torch::kUInt8);
  auto* bytes = state.data_ptr<uint8_t>();
  for (size_t i = 0; i < hex.size() / 2; ++i) bytes[i] = uint8_t(std::stoi(hex.substr(2 * i, 2), nullptr, 16));
  auto generator = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(generator.mutex());
  generator.set_state(state);
}

// loss, and ppl or exact match when the task reports them.
std::string summarize(const Metrics& metrics) {
  std::string text = fmt::format("loss {:.4f}", metric(metrics, "loss"));
  if (const double ppl = metric(metrics, "ppl"); !std::isnan(ppl)) text += fmt::format("  ppl {:.2f}", ppl);
  if (const double exact = metric(metrics, "exact"); !std::isnan(exact)) text += fmt::format("  exact {:.3f}", exact);
  return text;
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

double train_step(TransformerModel& model, Task& task, torch::optim::Optimizer& optimizer, const TrainConfig& t,
                  const std::vector<torch::Tensor>& params, int64_t first_batch, int64_t micro_batch_size,
                  int64_t* tokens) {
  optimizer.zero_grad();
  double step_loss = 0;
  for (int64_t a = 0; a < t.accumulate; ++a) {
    TaskBatch batch = task.train_batch(first_batch + a, micro_batch_size);
    torch::Tensor loss;
    {
      AutocastScope autocast(t.precision);
      loss = task.loss(model, batch) / double(t.accumulate);
    }
    loss.backward();  // outside autocast, as the autocast documentation recommends
    step_loss += loss.item<double>();
    if (tokens) *tokens += batch.tokens_count;
  }
  if (t.clip > 0) torch::nn::utils::clip_grad_norm_(params, t.clip);
  optimizer.step();
  return step_loss;
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
  const fs::path copy = run / "tokenizer.model";
  if (!tokenizer.path().empty() && fs::weakly_canonical(tokenizer.path()) != fs::weakly_canonical(copy)) {
    std::ifstream in(tokenizer.path(), std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    write_file_atomic(copy.string(), bytes.str());
  }
}

TrainResult train(const Experiment& e, TransformerModel& model, Task& task, const Tokenizer& tokenizer,
                  const TrainOptions& options) {
  const TrainConfig& t = e.train;
  const auto wall_start = Clock::now();
  CheckpointStore store(e.output, t.keep_checkpoints);
  auto optimizer = make_optimizer(model, t);
  const std::string metrics_path = (fs::path(e.output) / "metrics.jsonl").string();
  Progress progress(t.steps, options.quiet);

  int64_t step = 0, data_position = 0;
  // The loss logged every log_every steps averages over the interval; a checkpoint carries the
  // part of the interval already run, so a resumed run logs what an uninterrupted one would.
  double interval_loss = 0;
  int64_t interval_steps = 0;
  if (options.resume) {
    std::vector<std::string> skipped;
    auto newest = store.newest_valid(&skipped);
    for (const auto& s : skipped) progress.message(fmt::format("skipping checkpoint {}", s));
    if (newest) {
      auto state = load_checkpoint(*newest, model, optimizer.get(), tokenizer.checksum());
      step = state.at("step").get<int64_t>();
      data_position = state.at("data_position").get<int64_t>();
      restore_rng_state(state.at("rng").get<std::string>());
      interval_loss = state.value("interval_loss", 0.0);
      interval_steps = state.value("interval_steps", int64_t(0));
      progress.message(fmt::format("resuming from {} (step {})", *newest, step));
    }
  }
  MetricsLog::truncate_after(metrics_path, step);
  MetricsLog log(metrics_path);

  auto save = [&](int64_t at_step) {
    nlohmann::json state{{"step", at_step},           {"data_position", data_position},   {"seed", e.seed},
                         {"rng", rng_state_hex()},    {"interval_loss", interval_loss}, {"interval_steps", interval_steps}};
    store.save(at_step, model, optimizer.get(), state, tokenizer.checksum());
  };

  const int64_t micro = t.batch_size / t.accumulate;
  const int64_t last = options.stop_at >= 0 ? std::min(options.stop_at, t.steps) : t.steps;
  TrainResult result;
  double train_seconds = 0, interval_seconds = 0;
  int64_t interval_tokens = 0, trained_tokens = 0, timed_steps = 0;  // timed: run by this process
  auto params = model->parameters();
  model->train();
  StopSignals signals;
  int64_t saved_step = step;  // the step of the checkpoint on disk, if any

  while (step < last) {
    if (signals.received()) {
      // Stopped between steps: save where we are, unless that step is saved already.
      if (saved_step != step) save(step);
      progress.finish();
      fmt::print(stderr, "{} received: saved step {}; continue with qkv train --resume\n",
                 signals.received() == SIGINT ? "SIGINT" : "SIGTERM", step);
      result.signal = signals.received();
      break;
    }
    const auto step_start = Clock::now();
    const double lr = learning_rate(t, step);
    set_learning_rate(*optimizer, lr);
    int64_t step_tokens = 0;
    const double step_loss = train_step(model, task, *optimizer, t, params, data_position, micro, &step_tokens);
    data_position += t.accumulate;
    interval_tokens += step_tokens;
    trained_tokens += step_tokens;
    ++step;
    const double took = seconds_since(step_start);
    train_seconds += took;
    interval_seconds += took;
    interval_loss += step_loss;
    ++interval_steps;
    ++timed_steps;

    if (step % t.log_every == 0 || step == t.steps) {
      const double rate = double(interval_tokens) / std::max(interval_seconds, 1e-9);
      const double eta = interval_seconds / double(timed_steps) * double(last - step);
      const double mean_loss = interval_loss / double(interval_steps);
      progress.update(step, mean_loss, lr, rate, eta);
      log.write(step, "train", {{"loss", mean_loss}}, {{"lr", lr}, {"tokens_per_s", rate}});
      interval_seconds = interval_loss = 0;
      interval_tokens = interval_steps = timed_steps = 0;
    }
    const bool final_step = step == t.steps;
    if (task.has_split(Split::kValid) && ((t.eval_every > 0 && step % t.eval_every == 0) || final_step)) {
      auto metrics = evaluate_split(model, task, Split::kValid, t);
      log.write(step, "valid", metrics);
      progress.message(fmt::format("step {}: valid {}", step, summarize(metrics)));
      if (final_step) result.valid = metrics;
    }
    if ((t.save_every > 0 && step % t.save_every == 0) || step == last) {
      save(step);
      saved_step = step;
    }
  }
  progress.finish();
  result.step = step;
  result.train_seconds = train_seconds;
  result.tokens_per_s = double(trained_tokens) / std::max(train_seconds, 1e-9);
  result.wall_seconds = seconds_since(wall_start);
  return result;
}

}  // namespace qkv
