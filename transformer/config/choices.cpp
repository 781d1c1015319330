// Name tables of the configuration enums.
#include "transformer/config/config.h"

namespace qkv {

const Choices<Family>& family_choices() {
  static const Choices<Family> c{
      {"gpt", Family::kGpt}, {"bert", Family::kBert}, {"seq2seq", Family::kSeq2Seq}, {"rnn", Family::kRnn}};
  return c;
}
const Choices<InitScheme>& init_choices() {
  static const Choices<InitScheme> c{{"gpt2", InitScheme::kGpt2}, {"xavier", InitScheme::kXavier}};
  return c;
}
const Choices<Pooling>& pooling_choices() {
  static const Choices<Pooling> c{
      {"auto", Pooling::kAuto}, {"first", Pooling::kFirst}, {"last", Pooling::kLast}, {"mean", Pooling::kMean}};
  return c;
}
const Choices<TaskKind>& task_choices() {
  static const Choices<TaskKind> c{{"causal_lm", TaskKind::kCausalLm},
                                   {"masked_lm", TaskKind::kMaskedLm},
                                   {"classify", TaskKind::kClassify},
                                   {"pair", TaskKind::kPair},
                                   {"choice", TaskKind::kChoice},
                                   {"translate", TaskKind::kTranslate},
                                   {"denoise", TaskKind::kDenoise},
                                   {"copy", TaskKind::kCopy},
                                   {"reverse", TaskKind::kReverse},
                                   {"duplicate", TaskKind::kDuplicate},
                                   {"sort", TaskKind::kSort},
                                   {"parity", TaskKind::kParity},
                                   {"addition", TaskKind::kAddition},
                                   {"addition_reversed", TaskKind::kAdditionReversed}};
  return c;
}
const Choices<PairOrder>& pair_order_choices() {
  static const Choices<PairOrder> c{{"auto", PairOrder::kAuto}, {"both", PairOrder::kBoth}, {"given", PairOrder::kGiven}};
  return c;
}
const Choices<SentenceObjective>& sentence_objective_choices() {
  static const Choices<SentenceObjective> c{
      {"none", SentenceObjective::kNone}, {"next", SentenceObjective::kNext}, {"order", SentenceObjective::kOrder}};
  return c;
}
const Choices<DataFormat>& data_format_choices() {
  static const Choices<DataFormat> c{
      {"text", DataFormat::kText},          {"glue/cola", DataFormat::kGlueCola}, {"glue/sst2", DataFormat::kGlueSst2},
      {"glue/mrpc", DataFormat::kGlueMrpc}, {"glue/qqp", DataFormat::kGlueQqp},   {"glue/stsb", DataFormat::kGlueStsb},
      {"glue/mnli", DataFormat::kGlueMnli}, {"glue/qnli", DataFormat::kGlueQnli}, {"glue/rte", DataFormat::kGlueRte},
      {"glue/wnli", DataFormat::kGlueWnli}, {"snli", DataFormat::kSnli},          {"tsv", DataFormat::kTsv},
      {"csv", DataFormat::kCsv},            {"jsonl", DataFormat::kJsonl},        {"parallel", DataFormat::kParallel}};
  return c;
}
const Choices<OnError>& on_error_choices() {
  static const Choices<OnError> c{{"strict", OnError::kStrict}, {"skip", OnError::kSkip}};
  return c;
}
const Choices<Documents>& documents_choices() {
  static const Choices<Documents> c{{"line", Documents::kLine}, {"paragraph", Documents::kParagraph}, {"file", Documents::kFile}};
  return c;
}
const Choices<NanPolicy>& nan_policy_choices() {
  static const Choices<NanPolicy> c{{"halt", NanPolicy::kHalt}, {"skip", NanPolicy::kSkip}};
  return c;
}

bool task_option_applies(TaskKind kind, const std::string& key) {
  if (key == "mask_prob" || key == "mask_replace" || key == "mask_random" || key == "whole_word" ||
      key == "sentence_objective" || key == "sentence_weight")
    return kind == TaskKind::kMaskedLm;
  if (key == "labels" || key == "regression" || key == "positive") return kind == TaskKind::kClassify || kind == TaskKind::kPair;
  if (key == "pair_order") return kind == TaskKind::kPair;
  if (key == "lm_weight") return is_labelled(kind);
  if (key == "label_smoothing") return kind == TaskKind::kTranslate || kind == TaskKind::kDenoise;
  if (key == "noise_ratio" || key == "span_lambda" || key == "permute_sentences") return kind == TaskKind::kDenoise;
  if (key == "beam" || key == "length_penalty" || key == "max_len_a" || key == "max_len_b")
    return kind == TaskKind::kTranslate;
  if (key == "symbols") return is_synthetic(kind) && kind != TaskKind::kParity && !is_addition(kind);
  if (key == "min_length" || key == "max_length" || key == "eval_lengths" || key == "eval_examples") return is_synthetic(kind);
  return true;
}

std::string task_option_owners(const std::string& key) {
  std::string owners;
  for (const auto& [name, kind] : task_choices())
    if (task_option_applies(kind, key)) owners += (owners.empty() ? "" : ", ") + std::string(name);
  return owners;
}

const Choices<Schedule>& schedule_choices() {
  static const Choices<Schedule> c{{"constant", Schedule::kConstant},
                                   {"cosine", Schedule::kCosine},
                                   {"linear", Schedule::kLinear},
                                   {"inverse_sqrt", Schedule::kInverseSqrt}};
  return c;
}
const Choices<Precision>& precision_choices() {
  static const Choices<Precision> c{{"auto", Precision::kAuto}, {"fp32", Precision::kFp32}, {"bf16", Precision::kBf16}};
  return c;
}
const Choices<DeviceKind>& device_choices() {
  static const Choices<DeviceKind> c{{"auto", DeviceKind::kAuto}, {"cpu", DeviceKind::kCpu}, {"cuda", DeviceKind::kCuda}};
  return c;
}
const Choices<TokenizerType>& tokenizer_type_choices() {
  static const Choices<TokenizerType> c{{"unigram", TokenizerType::kUnigram}, {"bpe", TokenizerType::kBpe}};
  return c;
}
const Choices<Normalization>& normalization_choices() {
  static const Choices<Normalization> c{{"nmt_nfkc", Normalization::kNmtNfkc},
                                        {"nfkc", Normalization::kNfkc},
                                        {"nmt_nfkc_cf", Normalization::kNmtNfkcCf},
                                        {"nfkc_cf", Normalization::kNfkcCf},
                                        {"identity", Normalization::kIdentity}};
  return c;
}
const Choices<BleuTokenize>& bleu_tokenize_choices() {
  static const Choices<BleuTokenize> c{{"13a", BleuTokenize::k13a}, {"intl", BleuTokenize::kIntl}, {"zh", BleuTokenize::kZh},
                                       {"char", BleuTokenize::kChar}, {"none", BleuTokenize::kNone}};
  return c;
}
const Choices<TokenizerKind>& tokenizer_kind_choices() {
  static const Choices<TokenizerKind> c{
      {"sentencepiece", TokenizerKind::kSentencePiece}, {"bpe", TokenizerKind::kBpe}, {"wordpiece", TokenizerKind::kWordPiece}};
  return c;
}
const Choices<AttentionBackend>& attention_backend_choices() {
  // fused is offered only where the LibTorch this was built with has scaled_dot_product_attention.
  static const Choices<AttentionBackend> c{{"auto", AttentionBackend::kAuto},
                                           {"reference", AttentionBackend::kReference},
#ifdef QKV_FUSED_ATTENTION
                                           {"fused", AttentionBackend::kFused},
#endif
  };
  return c;
}
const Choices<NormKind>& norm_kind_choices() {
  static const Choices<NormKind> c{{"layernorm", NormKind::kLayerNorm}, {"rmsnorm", NormKind::kRmsNorm}};
  return c;
}
const Choices<Activation>& activation_choices() {
  static const Choices<Activation> c{
      {"relu", Activation::kRelu}, {"gelu", Activation::kGelu}, {"gelu_tanh", Activation::kGeluTanh}, {"swiglu", Activation::kSwiglu}};
  return c;
}
const Choices<bool>& norm_placement_choices() {
  static const Choices<bool> c{{"pre", true}, {"post", false}};
  return c;
}

}  // namespace qkv

namespace qkv {

std::vector<std::string> default_labels(DataFormat format) {
  switch (format) {
    case DataFormat::kGlueCola:
    case DataFormat::kGlueSst2:
    case DataFormat::kGlueMrpc:
    case DataFormat::kGlueQqp:
    case DataFormat::kGlueWnli: return {"0", "1"};
    case DataFormat::kGlueMnli: return {"contradiction", "entailment", "neutral"};  // GLUE's order
    case DataFormat::kGlueQnli:
    case DataFormat::kGlueRte: return {"entailment", "not_entailment"};
    case DataFormat::kSnli: return {"entailment", "neutral", "contradiction"};
    default: return {};
  }
}

bool data_option_applies(DataFormat f, const std::string& key) {
  const bool table = f == DataFormat::kTsv || f == DataFormat::kCsv;
  if (key == "columns") return table || f == DataFormat::kJsonl;
  if (key == "header") return table;
  if (key == "source" || key == "target") return f == DataFormat::kParallel;
  if (key == "documents") return f == DataFormat::kText || f == DataFormat::kJsonl;
  if (key == "text_field") return f == DataFormat::kJsonl;
  return true;
}

std::string data_option_owners(const std::string& key) {
  std::string owners;
  for (const auto& [name, format] : data_format_choices())
    if (data_option_applies(format, key)) owners += (owners.empty() ? "" : ", ") + std::string(name);
  return owners;
}

std::vector<std::string> split_files(const DataConfig& data, const std::string& path) {
  if (data.format == DataFormat::kParallel) return {path + "." + data.source, path + "." + data.target};
  return {path};
}

bool reads_corpus(TaskKind kind, DataFormat format, const std::string& columns_text) {
  if (kind != TaskKind::kCausalLm && kind != TaskKind::kMaskedLm) return false;
  return format == DataFormat::kText || (format == DataFormat::kJsonl && columns_text.empty());
}

std::vector<std::string> task_metric_names(const TaskConfig& task) {
  switch (task.kind) {
    case TaskKind::kCausalLm: return {"loss", "ppl"};
    case TaskKind::kMaskedLm:
      if (task.sentence_objective != SentenceObjective::kNone) return {"loss", "ppl", "accuracy", "sentence_loss", "sentence_accuracy"};
      return {"loss", "ppl", "accuracy"};
    case TaskKind::kClassify:
    case TaskKind::kPair:
      if (task.regression) return {"loss", "pearson", "spearman", "mse"};
      return {"loss", "accuracy", "f1", "mcc"};
    case TaskKind::kChoice: return {"loss", "accuracy"};
    case TaskKind::kTranslate: return {"loss", "ppl", "bleu", "chrf"};
    case TaskKind::kDenoise: return {"loss", "ppl", "accuracy"};
    default: break;
  }
  if (is_synthetic(task.kind)) return {"loss", "exact"};
  return {"loss"};
}

std::string default_select_metric(const TaskConfig& task) {
  if (is_labelled(task.kind)) return task.regression ? "pearson" : "accuracy";
  if (is_synthetic(task.kind)) return "exact";
  return "loss";
}

bool higher_is_better(const std::string& metric) { return metric != "loss" && metric != "ppl" && metric != "mse"; }

}  // namespace qkv
