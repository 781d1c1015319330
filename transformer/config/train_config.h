// The train, generate and sweep sections of an experiment file.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "transformer/config/choices.h"

namespace qkv {

struct TrainConfig {
  int64_t batch_size = 16;  // global batch, in sequences
  int64_t seq_len = 128;
  int64_t steps = 1000;
  int64_t accumulate = 1;  // micro-batches per optimizer step
  double lr = 3e-4;
  double min_lr = 0.1;  // final lr as a fraction of lr (cosine, linear)
  int64_t warmup = 100;
  Schedule schedule = Schedule::kCosine;
  double weight_decay = 0.1;
  double beta1 = 0.9, beta2 = 0.95, eps = 1e-8;
  double clip = 1.0;  // gradient norm; 0: off
  Precision precision = Precision::kAuto;
  DeviceKind device = DeviceKind::kAuto;
  int64_t threads = 0;  // 0: all cores
  int64_t log_every = 10;
  int64_t eval_every = 200;
  int64_t eval_batches = 20;  // 0: the whole split
  int64_t save_every = 500;
  int64_t keep_checkpoints = 3;
  int64_t batch_tokens = 0;    // translate: batches of about this many target tokens (0: batch_size sentences)
  bool freeze_body = false;    // fine-tuning: train only the parts init_from did not provide
  double head_lr = 0.0;        // fine-tuning: learning rate of the new parts; 0: lr
  std::string select_metric;   // metric that picks the best checkpoint; empty: the task's default
  int64_t patience = 0;        // stop after this many evaluations without improvement; 0: never
  int64_t average_last = 0;    // translate: evaluate the average of the last K checkpoints
  NanPolicy nan_policy = NanPolicy::kHalt;
  int64_t max_nan_skips = 5;   // skip: halt after this many non-finite steps in a row

  template <class V>
  void visit(V& v) {
    v.field("batch_size", batch_size, Spec().range(1, 1 << 20).doc("global batch in sequences"));
    v.field("seq_len", seq_len, Spec().range(2, 1 << 20));
    v.field("steps", steps, Spec().need().range(1, 1e12));
    v.field("accumulate", accumulate, Spec().range(1, 1 << 16));
    v.field("lr", lr, Spec().range(0.0, 10.0));
    v.field("min_lr", min_lr, Spec().range(0.0, 1.0).doc("final lr as a fraction of lr"));
    v.field("warmup", warmup, Spec().range(0, 1e12));
    v.choice("schedule", schedule, schedule_choices(), Spec().doc("constant|cosine|linear|inverse_sqrt"));
    v.field("weight_decay", weight_decay, Spec().range(0.0, 10.0));
    v.field("beta1", beta1, Spec().range(0.0, 0.99999));
    v.field("beta2", beta2, Spec().range(0.0, 0.99999999));
    v.field("eps", eps, Spec().range(0.0, 1.0));
    v.field("clip", clip, Spec().range(0.0, 1e6).doc("max gradient norm, 0: off"));
    v.choice("precision", precision, precision_choices(), Spec().doc("auto|fp32|bf16; auto: bf16 on a GPU or with avx512_bf16"));
    v.choice("device", device, device_choices(), Spec().doc("auto|cpu|cuda; auto: cuda when LibTorch sees a GPU"));
    v.field("threads", threads, Spec().range(0, 4096).doc("0: all cores"));
    v.field("log_every", log_every, Spec().range(1, 1e12));
    v.field("eval_every", eval_every, Spec().range(0, 1e12).doc("0: only at the end"));
    v.field("eval_batches", eval_batches, Spec().range(0, 1e12).doc("0: the whole split"));
    v.field("save_every", save_every, Spec().range(0, 1e12).doc("0: only at the end"));
    v.field("keep_checkpoints", keep_checkpoints, Spec().range(1, 1 << 20));
    v.field("batch_tokens", batch_tokens, Spec().range(0, 1 << 30).doc("translate: target tokens per batch, 0: batch_size"));
    v.field("freeze_body", freeze_body, Spec().doc("fine-tuning: train only what init_from did not provide"));
    v.field("head_lr", head_lr, Spec().range(0.0, 10.0).doc("fine-tuning: lr of the new parts, 0: lr"));
    v.field("select_metric", select_metric, Spec().doc("metric that picks the best checkpoint, e.g. accuracy"));
    v.field("patience", patience, Spec().range(0, 1e12).doc("evaluations without improvement before stopping, 0: never"));
    v.field("average_last", average_last, Spec().range(0, 1 << 10).doc("translate: average the last K checkpoints"));
    v.choice("nan_policy", nan_policy, nan_policy_choices(), Spec().doc("halt|skip on a non-finite loss or gradient"));
    v.field("max_nan_skips", max_nan_skips, Spec().range(1, 1e12).doc("skip: halt after this many in a row"));
  }
};

struct GenerateConfig {
  std::string prompt = "";
  int64_t max_new_tokens = 64;
  double temperature = 0.8;  // 0: greedy
  int64_t top_k = 0;         // 0: off
  double top_p = 1.0;        // 1: off
  int64_t seed = 0;          // 0: experiment seed
  double repetition_penalty = 1.0;  // 1: off

  template <class V>
  void visit(V& v) {
    v.field("prompt", prompt, Spec());
    v.field("max_new_tokens", max_new_tokens, Spec().range(1, 1 << 20));
    v.field("temperature", temperature, Spec().range(0.0, 100.0).doc("0: greedy"));
    v.field("top_k", top_k, Spec().range(0, 1 << 20).doc("0: off"));
    v.field("top_p", top_p, Spec().range(0.0, 1.0).doc("1: off"));
    v.field("seed", seed, Spec().range(0, 1e18).doc("0: experiment seed"));
    v.field("repetition_penalty", repetition_penalty,
            Spec().range(1.0, 100.0).doc("divides (multiplies, when negative) the logits of tokens already in the text; 1: off"));
  }
};

// A sweep grid: dotted experiment keys, each with the values (as YAML text) it takes.
using Grid = std::vector<std::pair<std::string, std::vector<std::string>>>;

struct SweepConfig {
  Grid grid;                     // every combination is a point with its own run directory
  std::vector<int64_t> lengths;  // evaluation context lengths per point (length extrapolation)
  std::string baseline;          // a value of the first grid key that the others are compared with
  int64_t stride = 0;            // with lengths: sliding-window evaluation too (0: non-overlapping only)

  template <class V>
  void visit(V& v) {
    v.field("grid", grid, Spec().need().doc("dotted.key: [values], e.g. model.position.scheme: [rope, alibi]"));
    v.field("lengths", lengths, Spec().range(2, 1 << 20).doc("evaluation context lengths"));
    v.field("baseline", baseline, Spec().doc("value of the first grid key to compare the others with"));
    v.field("stride", stride, Spec().range(0, 1 << 20).doc("with lengths: also evaluate by sliding windows with this "
                                                           "stride (Press et al. 2021), reported as sppl@LENGTH"));
  }
};

}  // namespace qkv
