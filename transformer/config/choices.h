// The vocabulary of experiment files: the enums their keys take, the name tables that spell them,
// the bounds a numeric field is read with, and which keys apply to which scheme, task or format.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "transformer/config/kinds.h"

namespace qkv {

enum class Family { kGpt, kBert, kSeq2Seq, kRnn };  // rnn: the LSTM baseline for translation
enum class InitScheme { kGpt2, kXavier };
// What a classification head reads: auto is the first token for bert and the last real token for
// gpt; mean averages the real tokens' hidden states.
enum class Pooling { kAuto, kFirst, kLast, kMean };
// masked_lm's sentence-pair objective on the pooled [CLS]: none; next (BERT's next-sentence
// prediction: b is a random segment half the time); order (ALBERT's sentence order: a and b are
// swapped half the time).
enum class SentenceObjective { kNone, kNext, kOrder };
// Whether a gpt reads a sentence pair in both orders and adds the two representations (GPT-1, 3.3:
// similarity and paraphrase have no order); auto: for glue/mrpc, glue/qqp, glue/stsb and regression.
enum class PairOrder { kAuto, kBoth, kGiven };
// denoise: an encoder-decoder reads corrupted text and writes it whole (Lewis et al. 2020, BART).
// The generated tasks after translate (Ruoss et al. 2023; Kazemnejad et al. 2023): copy, reverse,
// duplicate (x x), sort, parity (of a bit string), addition (most significant digit first) and
// addition_reversed (least significant first, operands and sum).
enum class TaskKind {
  kCausalLm, kMaskedLm, kClassify, kPair, kChoice, kTranslate, kDenoise,
  kCopy, kReverse, kDuplicate, kSort, kParity, kAddition, kAdditionReversed
};
// Tasks whose examples are generated from the seed (no data files, no SentencePiece model).
inline bool is_synthetic(TaskKind kind) { return kind >= TaskKind::kCopy; }
inline bool is_addition(TaskKind kind) { return kind == TaskKind::kAddition || kind == TaskKind::kAdditionReversed; }
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
// What a document of a language-modelling corpus is: a line, lines up to a blank line, a file.
enum class Documents { kLine, kParagraph, kFile };
enum class NanPolicy { kHalt, kSkip };  // a non-finite loss or gradient: stop, or skip the step
enum class Schedule { kConstant, kCosine, kLinear, kInverseSqrt };
enum class Precision { kAuto, kFp32, kBf16 };  // auto: bf16 where the CPU computes it natively
enum class DeviceKind { kAuto, kCpu, kCuda };  // auto: the GPU when LibTorch sees one
enum class TokenizerType { kUnigram, kBpe };
// sacreBLEU's tokenizers for BLEU (13a for most languages, zh for Chinese).
enum class BleuTokenize { k13a, kIntl, kZh, kChar, kNone };
// SentencePiece's normalisation rules (its normalization_rule_name).
enum class Normalization { kNmtNfkc, kNfkc, kNmtNfkcCf, kNfkcCf, kIdentity };
enum class TokenizerKind { kSentencePiece, kBpe, kWordPiece };

// Name tables for enums, as written in experiment files.
template <class E>
using Choices = std::vector<std::pair<const char*, E>>;
const Choices<Family>& family_choices();
const Choices<InitScheme>& init_choices();
const Choices<Pooling>& pooling_choices();
const Choices<TaskKind>& task_choices();
const Choices<PairOrder>& pair_order_choices();
const Choices<SentenceObjective>& sentence_objective_choices();
const Choices<DataFormat>& data_format_choices();
const Choices<OnError>& on_error_choices();
const Choices<Documents>& documents_choices();
const Choices<NanPolicy>& nan_policy_choices();
const Choices<Schedule>& schedule_choices();
const Choices<Precision>& precision_choices();
const Choices<DeviceKind>& device_choices();
const Choices<TokenizerType>& tokenizer_type_choices();
const Choices<Normalization>& normalization_choices();
const Choices<BleuTokenize>& bleu_tokenize_choices();
const Choices<TokenizerKind>& tokenizer_kind_choices();
const Choices<NormKind>& norm_kind_choices();
const Choices<AttentionBackend>& attention_backend_choices();
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

inline bool is_glue(DataFormat f) { return f >= DataFormat::kGlueCola && f <= DataFormat::kGlueWnli; }

// Whether a key of the data section applies to a format, and the formats it applies to.
bool data_option_applies(DataFormat format, const std::string& key);
std::string data_option_owners(const std::string& key);

// Whether a key of the task section applies to a task kind ("kind" applies to every kind).
bool task_option_applies(TaskKind kind, const std::string& key);
// The kinds a task key applies to, for messages ("copy, reverse").
std::string task_option_owners(const std::string& key);

}  // namespace qkv
