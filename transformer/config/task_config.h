// The task section of an experiment file, and the metrics each task reports.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "transformer/config/choices.h"

namespace qkv {

struct TaskConfig {
  TaskKind kind = TaskKind::kCausalLm;
  // masked_lm (Devlin et al. 2019, 3.1): of the selected tokens, mask_replace become <mask>,
  // mask_random a random token, the rest stay; whole_word selects whole words.
  double mask_prob = 0.15;
  double mask_replace = 0.8;
  double mask_random = 0.1;
  bool whole_word = false;
  // masked_lm: a loss on the pooled [CLS] telling whether b is a's own continuation (next, Devlin
  // et al. 2019, 3.1 task 2) or in its own order (order, Lan et al. 2020, 4.2), added with weight
  // sentence_weight to the masked-token loss.
  SentenceObjective sentence_objective = SentenceObjective::kNone;
  double sentence_weight = 1.0;
  // classify, pair, choice.
  std::vector<std::string> labels;  // label names in class order; empty: the format's own (glue/*)
  bool regression = false;          // classify, pair: predict a score (STS-B similarity)
  std::string positive;             // the label F1 counts as positive; empty: the second label
  double lm_weight = 0.0;           // gpt: auxiliary language-model loss weight (Radford et al. 2018, 3.2)
  PairOrder pair_order = PairOrder::kAuto;  // pair, gpt: both orders added (similarity, paraphrase)
  // translate.
  double label_smoothing = 0.1;
  int64_t beam = 4;             // 1: greedy
  double length_penalty = 0.6;  // Wu et al. 2016, eq. 14 alpha
  double max_len_a = 1.5;       // longest output: max_len_a * source length + max_len_b
  int64_t max_len_b = 10;
  BleuTokenize bleu_tokenize = BleuTokenize::k13a;  // zh for Chinese targets
  // denoise (Lewis et al. 2020, 2.2): text infilling masks noise_ratio of a line's tokens in spans
  // whose lengths are Poisson(span_lambda), each span one <mask> (a length-0 span inserts one);
  // permute_sentences first shuffles the line's sentences.
  double noise_ratio = 0.3;
  double span_lambda = 3.0;
  bool permute_sentences = false;
  // Length-generalisation tasks (copy, reverse, duplicate, sort, parity, addition,
  // addition_reversed): examples generated from the seed.
  int64_t symbols = 10;        // copy, reverse, duplicate, sort: alphabet size (parity has 2, addition 10)
  int64_t min_length = 1;      // training examples have min_length..max_length symbols (digits per operand)
  int64_t max_length = 8;
  std::vector<int64_t> eval_lengths;  // exact-match accuracy reported at each; empty: max_length, 2 * max_length
  int64_t eval_examples = 256;        // per evaluation length

  template <class V>
  void visit(V& v) {
    v.choice("kind", kind, task_choices(),
             Spec().need().doc("causal_lm|masked_lm|classify|pair|choice|translate|denoise|copy|reverse|duplicate|sort|parity|addition|addition_reversed"));
    v.field("mask_prob", mask_prob, Spec().range(0.0, 1.0).doc("masked_lm: fraction of tokens selected"));
    v.field("mask_replace", mask_replace, Spec().range(0.0, 1.0).doc("masked_lm: of those, replaced by <mask>"));
    v.field("mask_random", mask_random, Spec().range(0.0, 1.0).doc("masked_lm: of those, replaced by a random token"));
    v.field("whole_word", whole_word, Spec().doc("masked_lm: select whole words"));
    v.choice("sentence_objective", sentence_objective, sentence_objective_choices(),
             Spec().doc("masked_lm: none|next|order, a sentence-pair loss on [CLS]: b a random segment half the time (next) or a and b swapped (order)"));
    v.field("sentence_weight", sentence_weight, Spec().range(0.0, 100.0).doc("masked_lm: weight of the sentence-pair loss"));
    v.field("labels", labels, Spec().doc("classify, pair, choice: label names in class order"));
    v.field("regression", regression, Spec().doc("classify, pair: predict a score instead of a label"));
    v.field("positive", positive, Spec().doc("classify, pair: the label F1 counts as positive"));
    v.field("lm_weight", lm_weight, Spec().range(0.0, 100.0).doc("gpt fine-tuning: auxiliary language-model loss weight"));
    v.choice("pair_order", pair_order, pair_order_choices(),
             Spec().doc("pair, gpt: auto|both|given; both reads a pair in both orders and adds the two (GPT-1 3.3); "
                        "auto: both for glue/mrpc, glue/qqp, glue/stsb and regression"));
    v.field("label_smoothing", label_smoothing, Spec().range(0.0, 0.99).doc("translate, denoise"));
    v.field("beam", beam, Spec().range(1, 1024).doc("translate: beam size, 1 greedy"));
    v.field("length_penalty", length_penalty, Spec().range(0.0, 10.0).doc("translate: Wu et al. alpha"));
    v.field("max_len_a", max_len_a, Spec().range(0.0, 100.0).doc("translate: output length limit a * source + b"));
    v.field("max_len_b", max_len_b, Spec().range(0, 1 << 20).doc("translate: output length limit a * source + b"));
    v.choice("bleu_tokenize", bleu_tokenize, bleu_tokenize_choices(),
             Spec().doc("translate: sacreBLEU's tokenizer for evaluation BLEU: 13a|intl|zh|char|none (zh for Chinese targets)"));
    v.field("noise_ratio", noise_ratio, Spec().range(0.0, 0.95).doc("denoise: fraction of a line's tokens masked in spans"));
    v.field("span_lambda", span_lambda, Spec().range(0.1, 64.0).doc("denoise: mean (Poisson) length of a masked span"));
    v.field("permute_sentences", permute_sentences, Spec().doc("denoise: shuffle a line's sentences before masking"));
    v.field("symbols", symbols, Spec().range(2, 62).doc("copy, reverse, duplicate, sort: alphabet size"));
    v.field("min_length", min_length, Spec().range(1, 1 << 16).doc("generated tasks: shortest training example"));
    v.field("max_length", max_length, Spec().range(1, 1 << 16).doc("generated tasks: longest training example"));
    v.field("eval_lengths", eval_lengths, Spec().range(1, 1 << 16).doc("lengths evaluated (exact match), e.g. [8, 16, 32]; default max_length and twice it"));
    v.field("eval_examples", eval_examples, Spec().range(1, 1 << 24).doc("examples per evaluation length"));
  }
};

// Symbols in the input and the answer of a synthetic example of length n, and the positions the
// model sees for it: gpt reads bos x sep y (eos predicted), bert reads cls x sep and one mask per
// answer symbol, seq2seq encodes x eos and decodes bos y.
inline int64_t synthetic_input_length(TaskKind kind, int64_t n) { return is_addition(kind) ? 2 * n + 1 : n; }
inline int64_t synthetic_answer_length(TaskKind kind, int64_t n) {
  return is_addition(kind) ? n + 1 : kind == TaskKind::kParity ? 1 : kind == TaskKind::kDuplicate ? 2 * n : n;
}
inline int64_t synthetic_positions(TaskKind kind, Family family, int64_t n) {
  const int64_t in = synthetic_input_length(kind, n), out = synthetic_answer_length(kind, n);
  return family == Family::kSeq2Seq ? std::max(in, out) + 1 : in + out + 2;
}

// Whether the task reads a language-modelling corpus through token shards (data/corpus.h):
// causal_lm and masked_lm on plain text, or on JSON Lines documents (data.text_field) when no
// columns name a sentence pair.
bool reads_corpus(TaskKind kind, DataFormat format, const std::string& columns_text);

// Names of the metrics a task reports, "loss" first; and the one that picks the best checkpoint
// unless train.select_metric names another.
std::vector<std::string> task_metric_names(const TaskConfig& task);
std::string default_select_metric(const TaskConfig& task);
// Whether a larger value of the metric is better.
bool higher_is_better(const std::string& metric);

}  // namespace qkv
