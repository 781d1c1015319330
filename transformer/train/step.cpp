// One optimizer step over the micro-batches of an accumulation, on one rank or several.
#include "transformer/train/step.h"

#include <cmath>

#include <fmt/format.h>

#include "transformer/kernels/dropout.h"
#include "transformer/train/faults.h"
#include "transformer/train/precision.h"

namespace qkv {

namespace {

double gradient_norm(const std::vector<torch::Tensor>& params) {
  double sum = 0;
  for (const auto& p : params)
    if (p.grad().defined()) sum += p.grad().to(torch::kFloat64).pow(2).sum().item<double>();
  return std::sqrt(sum);
}

std::string first_non_finite_gradient(Model& model) {
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

}  // namespace

std::vector<TaskBatch> rank_batches(const TaskBatch& whole, int64_t accumulate, int64_t rank, int64_t world) {
  const int64_t n = whole.examples();
  std::vector<TaskBatch> out;
  for (int64_t a = 0; a < accumulate; ++a) {
    const int64_t micro_first = n * a / accumulate, micro_count = n * (a + 1) / accumulate - micro_first;
    const int64_t first = micro_first + micro_count * rank / world;
    const int64_t last = micro_first + micro_count * (rank + 1) / world;
    if (last > first) out.push_back(accumulate == 1 && world == 1 ? whole : slice_batch(whole, first, last - first));
  }
  return out;
}

double backward_shares(Model& model, Task& task, const TaskBatch& whole, const std::vector<double>& counts,
                       const TrainConfig& t, int64_t rank, int64_t world, uint64_t dropout_seed, int64_t step,
                       int64_t* tokens) {
  double loss_sum = 0;
  for (const TaskBatch& batch : rank_batches(whole, t.accumulate, rank, world)) {
    torch::manual_seed(dropout_seed);  // every share draws its masks as the whole batch would
    DropoutRows rows(batch.first_example, batch.examples());
    torch::Tensor loss;
    {
      AutocastScope autocast(t.precision);
      loss = task.loss(model, batch, counts);
    }
    loss = inject_fault("loss", step, loss);
    loss.backward();  // outside autocast, as the autocast documentation recommends
    loss_sum += loss.item<double>();
    if (tokens) *tokens += batch.tokens_count;
  }
  return loss_sum;
}

StepOutcome train_step(Model& model, Task& task, torch::optim::Optimizer& optimizer, const TrainConfig& t,
                       const std::vector<torch::Tensor>& params, int64_t batch_index, uint64_t dropout_seed,
                       int64_t* tokens, const Distributed* dist) {
  release_gradients(optimizer);
  StepOutcome outcome;
  const int64_t step = batch_index;
  const TaskBatch whole = task.train_batch(batch_index, t.batch_size);
  // Each loss term is divided by its units in the whole batch, which every rank holds, so the
  // shares' gradients add up to the whole batch's.
  const std::vector<double> counts = task.loss_counts(whole);
  int64_t step_tokens = 0;
  outcome.loss = backward_shares(model, task, whole, counts, t, dist ? dist->rank() : 0, dist ? dist->world() : 1,
                                 dropout_seed, step, &step_tokens);
  inject_gradient_fault(params, step);
  if (dist && dist->active()) {
    dist->sum_gradients(params);
    outcome.loss = dist->sum(outcome.loss);  // NaN on any rank is NaN on all
    step_tokens = int64_t(dist->sum(double(step_tokens)));
  }
  if (tokens) *tokens += step_tokens;
  if (!std::isfinite(outcome.loss)) {
    outcome.problem = fmt::format("loss is {}", outcome.loss);
  } else {
    // The gradient norm before clipping (clipped when train.clip is set); a NaN or Inf anywhere
    // makes it non-finite.
    outcome.grad_norm = t.clip > 0 ? torch::nn::utils::clip_grad_norm_(params, t.clip) : gradient_norm(params);
    if (!std::isfinite(outcome.grad_norm)) {
      outcome.problem = fmt::format("gradient of {} is not finite", first_non_finite_gradient(model));
    }
  }
  if (!outcome.problem.empty()) {
    release_gradients(optimizer);
    outcome.applied = false;
    return outcome;
  }
  optimizer.step();
  return outcome;
}

}  // namespace qkv
