// One optimizer step over the micro-batches of an accumulation, on one rank or several.
#include "transformer/train/step.h"

#include <cmath>

#include <fmt/format.h>

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

StepOutcome train_step(Model& model, Task& task, torch::optim::Optimizer& optimizer, const TrainConfig& t,
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

}  // namespace qkv
