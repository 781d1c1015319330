// Task factory and helpers.
#include "transformer/tasks/task.h"

#include "transformer/core/device.h"
#include "transformer/tasks/causal_lm.h"
#include "transformer/tasks/classify.h"
#include "transformer/tasks/denoise.h"
#include "transformer/tasks/masked_lm.h"
#include "transformer/tasks/synthetic.h"
#include "transformer/tasks/translate.h"

namespace qkv {

const char* split_name(Split split) {
  switch (split) {
    case Split::kTrain: return "train";
    case Split::kValid: return "valid";
    case Split::kTest: return "test";
  }
  return "?";
}

const std::vector<std::string>& headline_metric_names() {
  static const std::vector<std::string> names{"exact", "accuracy", "f1",   "mcc",  "pearson",
                                              "spearman", "bleu", "chrf", "sentence_accuracy"};
  return names;
}

double metric(const Metrics& metrics, const std::string& name) {
  for (const auto& [key, value] : metrics)
    if (key == name) return value;
  return std::nan("");
}

TaskBatch to_compute_device(TaskBatch batch) {
  const torch::Device device = compute_device();
  if (device.is_cpu()) return batch;
  for (torch::Tensor* t : {&batch.tokens, &batch.targets, &batch.keep, &batch.segments, &batch.source, &batch.source_keep,
                           &batch.labels, &batch.choice_keep}) {
    if (t->defined()) *t = t->to(device, /*non_blocking=*/true);
  }
  return batch;
}

int64_t TaskBatch::examples() const {
  if (labels.defined()) return labels.size(0);
  if (source.defined()) return source.size(0);
  return tokens.defined() ? tokens.size(0) / group : 0;
}

TaskBatch slice_batch(const TaskBatch& batch, int64_t first, int64_t count) {
  auto rows = [&](const torch::Tensor& t, int64_t per) { return t.defined() ? t.narrow(0, first * per, count * per) : t; };
  TaskBatch out = batch;
  out.tokens = rows(batch.tokens, batch.group);
  out.targets = rows(batch.targets, batch.group);
  out.keep = rows(batch.keep, batch.group);
  out.segments = rows(batch.segments, batch.group);
  out.source = rows(batch.source, 1);
  out.source_keep = rows(batch.source_keep, 1);
  out.labels = rows(batch.labels, 1);
  out.choice_keep = rows(batch.choice_keep, 1);
  out.first_example = batch.first_example + first;
  // Real tokens of this slice: padding is not counted.
  int64_t tokens = out.keep.defined() ? out.keep.sum().item<int64_t>() : out.tokens.numel();
  if (out.source.defined()) {
    tokens = (out.source_keep.defined() ? out.source_keep.sum().item<int64_t>() : out.source.numel()) +
             (out.targets.defined() ? out.targets.ne(kIgnore).sum().item<int64_t>() : 0);
  }
  out.tokens_count = tokens;
  return out;
}

double counted_targets(const torch::Tensor& targets) { return double(targets.ne(kIgnore).sum().item<int64_t>()); }

std::unique_ptr<Task> make_task(const Experiment& experiment) {
  switch (experiment.task.kind) {
    case TaskKind::kCausalLm: return std::make_unique<CausalLmTask>(experiment);
    case TaskKind::kMaskedLm: return std::make_unique<MaskedLmTask>(experiment);
    case TaskKind::kClassify:
    case TaskKind::kPair:
    case TaskKind::kChoice: return std::make_unique<ClassifyTask>(experiment);
    case TaskKind::kTranslate: return std::make_unique<TranslateTask>(experiment);
    case TaskKind::kDenoise: return std::make_unique<DenoiseTask>(experiment);
    default: break;
  }
  if (is_synthetic(experiment.task.kind)) return std::make_unique<SyntheticTask>(experiment);
  return nullptr;
}

}  // namespace qkv
