// qkv bench: times training steps (and, with --generate, decoding with and without the KV cache)
// after a warm-up, and prints one JSON line: tokens/s, median step time, model FLOPs, achieved
// GFLOP/s, MFU against a matmul peak measured in the same process, and peak RSS.
#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <memory>
#include <chrono>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <torch/csrc/autograd/profiler_legacy.h>

#include "transformer/analysis/estimates.h"
#include "transformer/cli/common.h"
#include "transformer/core/device.h"
#include "transformer/infer/generate.h"
#include "transformer/tasks/causal_lm.h"
#include "transformer/train/optimizer.h"
#include "transformer/train/precision.h"
#include "transformer/train/trainer.h"

namespace qkv::cli {

namespace {

using Clock = std::chrono::steady_clock;

// GFLOP/s of matmuls in the dtype training multiplies in (bf16 under autocast): the best of the
// median rates of a few shapes, squares and the tall products a Transformer layer makes, since the
// library's best shape differs by machine (on a 2-core AMD EPYC, (2048, 512) x (512, 2048) and
// (2048, 1024) x (1024, 512) products run about 8% faster than a 2048 square, which alone would
// flatter the MFU there). Only the product is timed: the operands are made in that dtype beforehand,
// and the wait for the result reads one element (a whole-matrix cast or sum inside the timing lowers
// the peak by about a fifth on the 2-core CPU, which would flatter the MFU).
double matmul_rate(int64_t m, int64_t k, int64_t n, const torch::TensorOptions& options) {
  const auto a = torch::randn({m, k}, options), b = torch::randn({k, n}, options);
  a.sum().item<float>();  // the operands are ready before the first timing
  std::vector<double> rates;
  for (int i = 0; i < 17; ++i) {  // 15 timed: one 2048 square is about 20 ms on the 2-core CPU
    const auto start = Clock::now();
    const auto c = torch::mm(a, b);
    c[0][0].item<float>();  // waits for the product (in order on a GPU stream; the CPU is synchronous)
    const double s = std::chrono::duration<double>(Clock::now() - start).count();
    if (i >= 2) rates.push_back(2.0 * double(m) * k * n / s / 1e9);
  }
  return median(rates);
}

double matmul_peak_gflops(Precision precision) {
  const auto device = compute_device();
  const int64_t n = device.is_cuda() ? 8192 : 2048;  // a GPU needs larger products to reach its peak
  const auto dtype = precision == Precision::kBf16 ? torch::kBFloat16 : torch::kFloat32;
  const auto options = torch::TensorOptions().device(device).dtype(dtype);
  const std::array<std::array<int64_t, 3>, 5> shapes{{
      {n / 2, n / 2, n / 2}, {n, n, n}, {n, n / 4, n}, {n, n / 2, n / 4}, {n, n, n / 4}}};  // (m, k, n)
  double best = 0;
  for (const auto& [m, k, cols] : shapes) best = std::max(best, matmul_rate(m, k, cols, options));
  return best;
}

double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return double(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

// Times `steps` training steps after `warmup` untimed ones (a Chrome trace of the timed ones to
// `profile` when set): milliseconds per step and the tokens one step trains on.
struct StepTimes {
  std::vector<double> ms;
  int64_t tokens_per_step = 0;
};
StepTimes time_training_steps(Model& model, Task& task, const TrainConfig& t, int64_t warmup, int64_t steps,
                              const std::string& profile_path) {
  auto optimizer = make_optimizer(model, t);
  auto params = model->parameters();
  model->train();
  StepTimes times;
  std::unique_ptr<torch::autograd::profiler::RecordProfile> profile;
  for (int64_t i = 0; i < warmup + steps; ++i) {
    if (i == warmup && !profile_path.empty()) profile = std::make_unique<torch::autograd::profiler::RecordProfile>(profile_path);
    int64_t tokens = 0;
    const auto start = Clock::now();
    train_step(model, task, *optimizer, t, params, /*batch_index=*/i, /*dropout_seed=*/uint64_t(i) + 1, &tokens);
    synchronize_compute_device();  // the optimizer's kernels may still be queued on a GPU
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    if (i >= warmup) times.ms.push_back(ms);
    times.tokens_per_step = tokens;
  }
  return times;  // the trace, when one was asked for, is written as `profile` goes
}

// Greedy generation of `tokens` tokens with and without the KV cache, timed after a warm-up.
void add_generation_times(Model& model, Precision precision, int64_t tokens, nlohmann::ordered_json& line) {
  model->eval();
  GenerateOptions options;
  options.sampling.temperature = 0;  // greedy: both runs produce the same tokens
  options.max_new_tokens = tokens;
  auto timed = [&](bool cache) {
    options.use_cache = cache;
    auto generator = at::detail::createCPUGenerator(1);
    AutocastScope autocast(precision);
    const auto start = Clock::now();
    auto out = generate(model, {1}, options, generator);
    return std::make_pair(std::chrono::duration<double>(Clock::now() - start).count(), out.size());
  };
  timed(true);  // warm-up
  const auto [with_s, with_n] = timed(true);
  const auto [without_s, without_n] = timed(false);
  line["generate_tokens"] = with_n;
  line["generate_tokens_per_s_cached"] = double(with_n) / with_s;
  line["generate_tokens_per_s_uncached"] = double(without_n) / without_s;
  line["generate_cache_speedup"] = without_s / with_s;
  line["peak_rss_mib"] = peak_rss_mib();
}

int run_bench(const Invocation& in) {
  const int64_t synthetic_vocab = in.integer("--synthetic", 0);
  const auto loaded = load(in);
  const Experiment& e = loaded.experiment;
  const TrainConfig& t = e.train;
  const int64_t threads = set_threads(t.threads);
  const Precision precision = resolve_precision(t.precision);

  std::unique_ptr<Task> task;
  int64_t vocab = synthetic_vocab;
  if (synthetic_vocab > 0) {
    task = std::make_unique<SyntheticLmTask>(vocab, t.seq_len, uint64_t(e.seed));
  } else {
    Tokenizer tokenizer = ensure_tokenizer(e, /*quiet=*/true);
    vocab = tokenizer.vocab_size();
    task = make_task(e);
    task->prepare(e, tokenizer, /*need_train=*/true);
  }
  Model model = build_model(e, vocab);
  const StepTimes times = time_training_steps(model, *task, t, in.integer("--warmup", 3), in.integer("--steps", 10),
                                              in.text("--profile"));
  const std::vector<double>& step_ms = times.ms;
  const int64_t tokens_per_step = times.tokens_per_step;
  const double step_s = median(step_ms) / 1000.0;
  const double flops_per_step = 3.0 * forward_flops_per_token(e.model, vocab, t.seq_len) * double(tokens_per_step);
  const double achieved = flops_per_step / step_s / 1e9;
  const double peak = matmul_peak_gflops(precision);
  const int64_t parameters = count_parameters(model).total;

  nlohmann::ordered_json line{
      {"experiment", e.name},
      {"device", compute_device().str()},
      {"precision", choice_name(precision_choices(), precision)},
      {"threads", threads},
      {"position", e.model.position.scheme},
      {"parameters", parameters},
      {"batch_tokens", tokens_per_step},
      {"tokens_per_s", double(tokens_per_step) / step_s},
      {"step_ms", median(step_ms)},
      {"step_ms_min", *std::min_element(step_ms.begin(), step_ms.end())},
      {"step_ms_max", *std::max_element(step_ms.begin(), step_ms.end())},
      {"model_flops_per_step", flops_per_step},
      {"achieved_gflops", achieved},
      {"matmul_peak_gflops", peak},
      {"mfu", achieved / peak},
      {"peak_rss_mib", peak_rss_mib()},
  };
  // What the peak holds, estimated: saved activations (models/model.h) and the training state
  // (float32 parameters, gradients and AdamW's two moments, 16 bytes a parameter).
  const double activation_bytes =
      activation_bytes_per_token(e.model, vocab, t.seq_len, precision == Precision::kBf16 ? 2 : 4) *
      double(tokens_per_step / t.accumulate);
  if (activation_bytes > 0) line["activation_estimate_mib"] = activation_bytes / (1024.0 * 1024.0);
  line["state_mib"] = 16.0 * double(parameters) / (1024.0 * 1024.0);

  if (const int64_t tokens = in.integer("--generate", 0); tokens > 0) add_generation_times(model, precision, tokens, line);
  fmt::print("{}\n", line.dump());
  return 0;
}

const bool registered = register_runner("bench", run_bench);

}  // namespace

}  // namespace qkv::cli
