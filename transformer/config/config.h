// The experiment file as typed structs, one per YAML section, each listing its fields once in
// visit() so that reading, validation messages, --set overrides and writing share one list.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "transformer/core/kinds.h"

namespace qkv {

enum class Family { kGpt, kBert, kSeq2Seq, kRnn };  // rnn: the LSTM baseline for translation
enum class InitScheme { kGpt2, kXavier };
enum class TaskKind { kCausalLm, kMaskedLm, kClassify, kPair, kChoice, kTranslate, kCopy, kReverse, kAddition };
// Tasks whose examples are generated from the seed (no data files, no SentencePiece model).
inline bool is_synthetic(TaskKind kind) {
  return kind == TaskKind::kCopy || kind == TaskKind::kReverse || kind == TaskKind::kAddition;
}
// Tasks that read labelled examples (a label, a score or a choice per example) through a head.
inline bool is_labelled(TaskKind kind) {
  return kind == TaskKind::kClassify || kind == TaskKind::kPair || kind == TaskKind::kChoice;
}
// Formats of data files: plain text (one sentence or verse per line), the GLUE tasks' TSV files as
// distributed, SNLI/MNLI JSONL, generic TSV/CSV/JSONL with configured columns, line-aligned
// parallel text (PREFIX.SRC and PREFIX.TGT).
enum class DataFormat {
  kText, kGlueCola, kGlueSst2, kGlueMrpc, kGlueQqp, kGlueStsb, kGlueMnli, kGlueQnli, kGlueRte, kGlueWnli,
  kSnli, kTsv, kCsv, kJsonl, kParallel
};
enum class OnError { kStrict, kSkip };  // bad data lines: stop at the first, or drop and count
enum class NanPolicy { kHalt, kSkip };  // a non-finite loss or gradient: stop, or skip the step
enum class Schedule { kConstant, kCosine, kLinear, kInverseSqrt };
enum class Precision { kAuto, kFp32, kBf16 };  // auto: bf16 where the CPU computes it natively
enum class DeviceKind { kAuto, kCpu, kCuda };  // auto: the GPU when LibTorch sees one
enum class TokenizerType { kUnigram, kBpe };

// Name tables for enums, as written in experiment files.
template <class E>
using Choices = std::vector<std::pair<const char*, E>>;
const Choices<Family>& family_choices();
const Choices<InitScheme>& init_choices();
const Choices<TaskKind>& task_choices();
const Choices<DataFormat>& data_format_choices();
const Choices<OnError>& on_error_choices();
const Choices<NanPolicy>& nan_policy_choices();
const Choices<Schedule>& schedule_choices();
const Choices<Precision>& precision_choices();
const Choices<DeviceKind>& device_choices();
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
    v.choice("family", family, family_choices(), Spec().need().doc("gpt|bert|seq2seq|rnn"));
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

inline bool is_glue(DataFormat f) { return f >= DataFormat::kGlueCola && f <= DataFormat::kGlueWnli; }
// Label names of a format's label column in class order (the GLUE tasks, SNLI); empty otherwise.
std::vector<std::string> default_labels(DataFormat format);

// Whether a key of the data section applies to a format, and the formats it applies to.
bool data_option_applies(DataFormat format, const std::string& key);
std::string data_option_owners(const std::string& key);

// Whether a key of the task section applies to a task kind ("kind" applies to every kind).
bool task_option_applies(TaskKind kind, const std::string& key);
// The kinds a task key applies to, for messages ("copy, reverse").
std::string task_option_owners(const std::string& key);

struct TaskConfig {
  TaskKind kind = TaskKind::kCausalLm;
  // masked_lm (Devlin et al. 2019, 3.1): of the selected tokens, mask_replace become <mask>,
  // mask_random a random token, the rest stay; whole_word selects whole words.
  double mask_prob = 0.15;
  double mask_replace = 0.8;
  double mask_random = 0.1;
  bool whole_word = false;
  // classify, pair, choice.
  std::vector<std::string> labels;  // label names in class order; empty: the format's own (glue/*)
  bool regression = false;          // classify, pair: predict a score (STS-B similarity)
  std::string positive;             // the label F1 counts as positive; empty: the second label
  double lm_weight = 0.0;           // gpt: auxiliary language-model loss weight (Radford et al. 2018, 3.2)
  // translate.
  double label_smoothing = 0.1;
  int64_t beam = 4;             // 1: greedy
  double length_penalty = 0.6;  // Wu et al. 2016, eq. 14 alpha
  double max_len_a = 1.5;       // longest output: max_len_a * source length + max_len_b
  int64_t max_len_b = 10;
  // Length-generalisation tasks (copy, reverse, addition): examples generated from the seed.
  int64_t symbols = 10;        // copy, reverse: alphabet size
  int64_t min_length = 1;      // training examples have min_length..max_length symbols (digits per operand)
  int64_t max_length = 8;
  std::vector<int64_t> eval_lengths;  // exact-match accuracy reported at each; empty: max_length, 2 * max_length
  int64_t eval_examples = 256;        // per evaluation length

  template <class V>
  void visit(V& v) {
    v.choice("kind", kind, task_choices(),
             Spec().need().doc("causal_lm|masked_lm|classify|pair|choice|translate|copy|reverse|addition"));
    v.field("mask_prob", mask_prob, Spec().range(0.0, 1.0).doc("masked_lm: fraction of tokens selected"));
    v.field("mask_replace", mask_replace, Spec().range(0.0, 1.0).doc("masked_lm: of those, replaced by <mask>"));
    v.field("mask_random", mask_random, Spec().range(0.0, 1.0).doc("masked_lm: of those, replaced by a random token"));
    v.field("whole_word", whole_word, Spec().doc("masked_lm: select whole words"));
    v.field("labels", labels, Spec().doc("classify, pair, choice: label names in class order"));
    v.field("regression", regression, Spec().doc("classify, pair: predict a score instead of a label"));
    v.field("positive", positive, Spec().doc("classify, pair: the label F1 counts as positive"));
    v.field("lm_weight", lm_weight, Spec().range(0.0, 100.0).doc("gpt fine-tuning: auxiliary language-model loss weight"));
    v.field("label_smoothing", label_smoothing, Spec().range(0.0, 0.99).doc("translate"));
    v.field("beam", beam, Spec().range(1, 1024).doc("translate: beam size, 1 greedy"));
    v.field("length_penalty", length_penalty, Spec().range(0.0, 10.0).doc("translate: Wu et al. alpha"));
    v.field("max_len_a", max_len_a, Spec().range(0.0, 100.0).doc("translate: output length limit a * source + b"));
    v.field("max_len_b", max_len_b, Spec().range(0, 1 << 20).doc("translate: output length limit a * source + b"));
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

// Where the fields of an example are in a TSV/CSV file (column names with a header, 0-based
// numbers without) or a JSONL object (field names).
struct ColumnsConfig {
  std::string text, text_b, label;   // classify: text; pair: text and text_b; choice: text (context)
  std::vector<std::string> choices;  // choice: one column per candidate (JSONL: one list field)

  template <class V>
  void visit(V& v) {
    v.field("text", text, Spec().doc("first text (sentence, premise, question, context)"));
    v.field("text_b", text_b, Spec().doc("second text of a pair"));
    v.field("label", label, Spec().doc("label, score or index of the right choice"));
    v.field("choices", choices, Spec().doc("candidates of a choice task"));
  }
};

struct DataConfig {
  std::string train, valid, test;
  DataFormat format = DataFormat::kText;
  ColumnsConfig columns;
  bool header = true;             // tsv, csv: the first line names the columns
  std::string source, target;     // parallel: language suffixes, files PREFIX.SOURCE and PREFIX.TARGET
  OnError on_error = OnError::kStrict;
  double max_skipped = 0.01;      // skip: most lines of a file that may be dropped, as a fraction
  int64_t max_line_bytes = 1 << 20;
  int64_t train_examples = 0;     // labelled tasks: train on a fixed random subset this large; 0: all

  template <class V>
  void visit(V& v) {
    v.path("train", train, Spec().doc("required by text tasks"));
    v.path("valid", valid, Spec());
    v.path("test", test, Spec());
    v.choice("format", format, data_format_choices(),
             Spec().doc("text|glue/cola|glue/sst2|glue/mrpc|glue/qqp|glue/stsb|glue/mnli|glue/qnli|glue/rte|glue/wnli|"
                        "snli|tsv|csv|jsonl|parallel"));
    v.section("columns", columns, Spec().doc("tsv, csv, jsonl: where each field is"));
    v.field("header", header, Spec().doc("tsv, csv: the first line names the columns"));
    v.field("source", source, Spec().doc("parallel: source language suffix (train: PREFIX -> PREFIX.SOURCE)"));
    v.field("target", target, Spec().doc("parallel: target language suffix"));
    v.choice("on_error", on_error, on_error_choices(), Spec().doc("strict|skip: stop at a bad line, or drop and count"));
    v.field("max_skipped", max_skipped, Spec().range(0.0, 1.0).doc("skip: largest fraction of a file's lines dropped"));
    v.field("max_line_bytes", max_line_bytes, Spec().range(16, 1 << 30).doc("longer lines are errors"));
    v.field("train_examples", train_examples,
            Spec().range(0, int64_t(1) << 40).doc("labelled tasks: train on a fixed random subset of this many examples "
                                                  "(the same subset for every seed); 0: all"));
  }
};

struct TokenizerConfig {
  std::string model;  // trained on data.train when missing
  std::string target_model;  // translate: separate target-language model; empty: one joint model
  int64_t vocab_size = 8000;
  TokenizerType type = TokenizerType::kUnigram;
  double character_coverage = 1.0;
  int64_t max_sentences = 200000;  // sentences sampled for training

  template <class V>
  void visit(V& v) {
    v.path("model", model, Spec().doc("SentencePiece model; required by text tasks"));
    v.path("target_model", target_model, Spec().doc("translate: target-side model; empty: model is joint"));
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

// The files behind one split's path: the path itself, or PREFIX.SOURCE and PREFIX.TARGET for
// parallel data.
std::vector<std::string> split_files(const DataConfig& data, const std::string& path);

struct TaskConfig;
// Names of the metrics a task reports, "loss" first; and the one that picks the best checkpoint
// unless train.select_metric names another.
std::vector<std::string> task_metric_names(const TaskConfig& task);
std::string default_select_metric(const TaskConfig& task);
// Whether a larger value of the metric is better.
bool higher_is_better(const std::string& metric);

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
  std::string init_from;  // a run whose newest checkpoint initialises the shared parts (fine-tuning)
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
    v.path("init_from", init_from, Spec().doc("run directory whose newest checkpoint initialises the model"));
    v.path("output", output, Spec().doc("run directory, default runs/NAME"));
  }

  // Where the experiment file was read from, for messages and relative paths.
  std::string source_file;
};

}  // namespace qkv
