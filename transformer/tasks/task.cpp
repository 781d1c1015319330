// Task factory and helpers.
#include "transformer/tasks/task.h"

#include "transformer/core/device.h"
#include "transformer/tasks/causal_lm.h"
#include "transformer/tasks/classify.h"
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

std::unique_ptr<Task> make_task(const Experiment& experiment) {
  switch (experiment.task.kind) {
    case TaskKind::kCausalLm: return std::make_unique<CausalLmTask>(experiment);
    case TaskKind::kMaskedLm: return std::make_unique<MaskedLmTask>(experiment);
    case TaskKind::kClassify:
    case TaskKind::kPair:
    case TaskKind::kChoice: return std::make_unique<ClassifyTask>(experiment);
    case TaskKind::kTranslate: return std::make_unique<TranslateTask>(experiment);
    case TaskKind::kCopy:
    case TaskKind::kReverse:
    case TaskKind::kAddition: return std::make_unique<SyntheticTask>(experiment);
  }
  return nullptr;
}

}  // namespace qkv
