// The experiment file as typed structs, one per YAML section, each listing its fields once in
// visit() so that reading, validation messages, --set overrides and writing share one list.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "transformer/core/feed_forward.h"
#include "transformer/core/norm.h"
#include "transformer/core/position.h"

namespace qkv {

enum class Family { kGpt, kBert, kSeq2Seq };
enum class InitScheme { kGpt2, kXavier };
enum class TaskKind { kCausalLm, kCopy, kReverse, kAddition };
// Tasks whose examples are generated from the seed (no data files, no SentencePiece model).
inline bool is_synthetic(TaskKind kind) { return kind != TaskKind::kCausalLm; }
enum class Schedule { kConstant, kCosine, kLinear, kInverseSqrt };
enum class Precision { kAuto, kFp32, kBf16 };  // auto: bf16 where the CPU computes it natively
enum class TokenizerType { kUnigram, kBpe };

// Name tables for enums, as written in experiment files.
template <class E>
using Choices = std::vector<std::pair<const char*, E>>;
const Choices<Family>& family_choices();
const Choices<InitScheme>& init_choices();
const Choices<TaskKind>& task_choices();
const Choices<Schedule>& schedule_choices();
const Choices<Precision>& precision_choices();
const Choices<TokenizerType>& tokenizer_type_choices();
const Choices<PositionKind>& position_choices();
const Choices<NormKind>& norm_kind_choices();
const Choices<Activation>& activation_choices();
const Choices<bool>& norm_placement_choices();  // pre -> true, post -> false

template <class E>
const char* choice_name(const Choices<E>& choices, E value) {
  for (const auto& [name, v] : choices)
    if (v == value) return name;
  return "?";
}

// Bounds of a numeric field; a field marked required has no default.
struct Spec {
  double min = -1e300, max = 1e300;
  bool required = false;
  const char* help = "";
  Spec& range(double lo, double hi) { min = lo; max = hi; return *this; }
  Spec& at_least(double lo) { min = lo; return *this; }
  Spec& need() { required = true; return *this; }
  Spec& doc(const char* text) { help = text; return *this; }
};

// Whether a key of model.position applies to a scheme ("scheme" applies to all).
bool position_option_applies(PositionKind scheme, const std::string& key);
PositionKind position_option_owner(const std::string& key);  // kNone: every scheme's

struct PositionConfig {
  PositionKind scheme = PositionKind::kNone;
  int64_t clip = 16;
  int64_t buckets = 32;
  int64_t max_distance = 128;
  double base = 10000.0;
  double fraction = 1.0;

  template <class V>
  void visit(V& v) {
    v.choice("scheme", scheme, position_choices(), Spec().need().doc("none|sinusoidal|learned|shaw|t5|rope|alibi"));
    v.field("clip", clip, Spec().range(1, 4096).doc("shaw: relative distances clipped to [-clip, clip]"));
    v.field("buckets", buckets, Spec().range(2, 4096).doc("t5: number of buckets"));
    v.field("max_distance", max_distance, Spec().range(2, 1 << 20).doc("t5: distance of the last bucket"));
    v.field("base", base, Spec().range(2, 1e9).doc("rope: frequency base"));
    v.field("fraction", fraction, Spec().range(0.0, 1.0).doc("rope: fraction of each head's dims rotated"));
  }
};

struct ModelConfig {
  Family family = Family::kGpt;
  int64_t layers = 2;
  int64_t decoder_layers = 0;  // seq2seq decoder depth; 0: same as layers
  int64_t d_model = 128;
  int64_t heads = 4;
  int64_t d_ff = 512;
  double dropout = 0.1;              // residual dropout
  double attention_dropout = -1.0;   // -1: same as dropout
  double embedding_dropout = -1.0;   // -1: same as dropout
  bool pre_norm = true;
  NormKind norm_type = NormKind::kLayerNorm;
  Activation activation = Activation::kGelu;
  bool bias = true;
  bool tie_embeddings = true;
  bool scale_embeddings = false;  // multiply embeddings by sqrt(d_model) (Vaswani et al. 3.4)
  InitScheme init = InitScheme::kGpt2;
  int64_t max_len = 512;
  int64_t num_classes = 0;  // classification head; 0: none
  PositionConfig position;

  template <class V>
  void visit(V& v) {
    v.choice("family", family, family_choices(), Spec().need().doc("gpt|bert|seq2seq"));
    v.field("layers", layers, Spec().range(1, 512));
    v.field("decoder_layers", decoder_layers, Spec().range(0, 512).doc("seq2seq decoder depth, 0: layers"));
    v.field("d_model", d_model, Spec().range(1, 1 << 16));
    v.field("heads", heads, Spec().range(1, 1024));
    v.field("d_ff", d_ff, Spec().range(1, 1 << 18));
    v.field("dropout", dropout, Spec().range(0.0, 0.95));
    v.field("attention_dropout", attention_dropout, Spec().range(-1.0, 0.95).doc("-1: same as dropout"));
    v.field("embedding_dropout", embedding_dropout, Spec().range(-1.0, 0.95).doc("-1: same as dropout"));
    v.choice("norm", pre_norm, norm_placement_choices(), Spec().doc("pre|post"));
    v.choice("norm_type", norm_type, norm_kind_choices(), Spec().doc("layernorm|rmsnorm"));
    v.choice("activation", activation, activation_choices(), Spec().doc("relu|gelu|swiglu"));
    v.field("bias", bias, Spec().doc("biases in linear layers and LayerNorm"));
    v.field("tie_embeddings", tie_embeddings, Spec());
    v.field("scale_embeddings", scale_embeddings, Spec());
    v.choice("init", init, init_choices(), Spec().doc("gpt2|xavier"));
    v.field("max_len", max_len, Spec().range(1, 1 << 20));
    v.field("num_classes", num_classes, Spec().range(0, 1 << 20));
    v.section("position", position, Spec().need());
  }
};

// Whether a key of the task section applies to a task kind ("kind" applies to every kind).
bool task_option_applies(TaskKind kind, const std::string& key);
// The kinds a task key applies to, for messages ("copy, reverse").
std::string task_option_owners(const std::string& key);

struct TaskConfig {
  TaskKind kind = TaskKind::kCausalLm;
  // Length-generalisation tasks (copy, reverse, addition): examples generated from the seed.
  int64_t symbols = 10;        // copy, reverse: alphabet size
  int64_t min_length = 1;      // training examples have min_length..max_length symbols (digits per operand)
  int64_t max_length = 8;
  std::vector<int64_t> eval_lengths;  // exact-match accuracy reported at each; empty: max_length, 2 * max_length
  int64_t eval_examples = 256;        // per evaluation length

  template <class V>
  void visit(V& v) {
    v.choice("kind", kind, task_choices(), Spec().need().doc("causal_lm|copy|reverse|addition"));
    v.field("symbols", symbols, Spec().range(2, 62).doc("copy, reverse: alphabet size"));
    v.field("min_length", min_length, Spec().range(1, 1 << 16).doc("copy, reverse, addition: shortest training example"));
    v.field("max_length", max_length, Spec().range(1, 1 << 16).doc("copy, reverse, addition: longest training example"));
    v.field("eval_lengths", eval_lengths, Spec().range(1, 1 << 16).doc("lengths evaluated (exact match), e.g. [8, 16, 32]; default max_length and twice it"));
    v.field("eval_examples", eval_examples, Spec().range(1, 1 << 24).doc("examples per evaluation length"));
  }
};

// Symbols in the input and the answer of a synthetic example of length n, and the positions the
// model sees for it: gpt reads bos x sep y (eos predicted), bert reads cls x sep and one mask per
// answer symbol, seq2seq encodes x eos and decodes bos y.
inline int64_t synthetic_input_length(TaskKind kind, int64_t n) { return kind == TaskKind::kAddition ? 2 * n + 1 : n; }
inline int64_t synthetic_answer_length(TaskKind kind, int64_t n) { return kind == TaskKind::kAddition ? n + 1 : n; }
inline int64_t synthetic_positions(TaskKind kind, Family family, int64_t n) {
  const int64_t in = synthetic_input_length(kind, n), out = synthetic_answer_length(kind, n);
  return family == Family::kSeq2Seq ? std::max(in, out) + 1 : in + out + 2;
}

struct DataConfig {
  std::string train, valid, test;

  template <class V>
  void visit(V& v) {
    v.path("train", train, Spec().doc("required by text tasks"));
    v.path("valid", valid, Spec());
    v.path("test", test, Spec());
  }
};

struct TokenizerConfig {
  std::string model;  // trained on data.train when missing
  int64_t vocab_size = 8000;
  TokenizerType type = TokenizerType::kUnigram;
  double character_coverage = 1.0;
  int64_t max_sentences = 200000;  // sentences sampled for training

  template <class V>
  void visit(V& v) {
    v.path("model", model, Spec().doc("SentencePiece model; required by text tasks"));
    v.field("vocab_size", vocab_size, Spec().range(16, 1 << 20));
    v.choice("type", type, tokenizer_type_choices(), Spec().doc("unigram|bpe"));
    v.field("character_coverage", character_coverage, Spec().range(0.9, 1.0));
    v.field("max_sentences", max_sentences, Spec().range(100, 1e9));
  }
};

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
  int64_t threads = 0;  // 0: all cores
  int64_t log_every = 10;
  int64_t eval_every = 200;
  int64_t eval_batches = 20;  // 0: the whole split
  int64_t save_every = 500;
  int64_t keep_checkpoints = 3;

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
    v.choice("precision", precision, precision_choices(), Spec().doc("auto|fp32|bf16; auto: bf16 with avx512_bf16"));
    v.field("threads", threads, Spec().range(0, 4096).doc("0: all cores"));
    v.field("log_every", log_every, Spec().range(1, 1e12));
    v.field("eval_every", eval_every, Spec().range(0, 1e12).doc("0: only at the end"));
    v.field("eval_batches", eval_batches, Spec().range(0, 1e12).doc("0: the whole split"));
    v.field("save_every", save_every, Spec().range(0, 1e12).doc("0: only at the end"));
    v.field("keep_checkpoints", keep_checkpoints, Spec().range(1, 1 << 20));
  }
};

struct GenerateConfig {
  std::string prompt = "";
  int64_t max_new_tokens = 64;
  double temperature = 0.8;  // 0: greedy
  int64_t top_k = 0;         // 0: off
  double top_p = 1.0;        // 1: off
  int64_t seed = 0;          // 0: experiment seed

  template <class V>
  void visit(V& v) {
    v.field("prompt", prompt, Spec());
    v.field("max_new_tokens", max_new_tokens, Spec().range(1, 1 << 20));
    v.field("temperature", temperature, Spec().range(0.0, 100.0).doc("0: greedy"));
    v.field("top_k", top_k, Spec().range(0, 1 << 20).doc("0: off"));
    v.field("top_p", top_p, Spec().range(0.0, 1.0).doc("1: off"));
    v.field("seed", seed, Spec().range(0, 1e18).doc("0: experiment seed"));
  }
};

// A sweep grid: dotted experiment keys, each with the values (as YAML text) it takes.
using Grid = std::vector<std::pair<std::string, std::vector<std::string>>>;

struct SweepConfig {
  Grid grid;                     // every combination is a point with its own run directory
  std::vector<int64_t> lengths;  // evaluation context lengths per point (length extrapolation)
  std::string baseline;          // a value of the first grid key that the others are compared with

  template <class V>
  void visit(V& v) {
    v.field("grid", grid, Spec().need().doc("dotted.key: [values], e.g. model.position.scheme: [rope, alibi]"));
    v.field("lengths", lengths, Spec().range(2, 1 << 20).doc("evaluation context lengths"));
    v.field("baseline", baseline, Spec().doc("value of the first grid key to compare the others with"));
  }
};

struct Experiment {
  std::string name;
  int64_t seed = 1;
  ModelConfig model;
  TaskConfig task;
  DataConfig data;
  TokenizerConfig tokenizer;
  TrainConfig train;
  GenerateConfig generate;
  SweepConfig sweep;   // used by qkv sweep only
  std::string output;  // run directory; default runs/NAME

  template <class V>
  void visit(V& v) {
    v.field("name", name, Spec().need());
    v.field("seed", seed, Spec().range(0, 1e18));
    v.section("model", model, Spec().need());
    v.section("task", task, Spec().need());
    v.section("data", data, Spec().doc("required by text tasks"));
    v.section("tokenizer", tokenizer, Spec().doc("required by text tasks"));
    v.section("train", train, Spec().need());
    v.section("generate", generate, Spec());
    v.section("sweep", sweep, Spec());
    v.path("output", output, Spec().doc("run directory, default runs/NAME"));
  }

  // Where the experiment file was read from, for messages and relative paths.
  std::string source_file;
};

}  // namespace qkv
