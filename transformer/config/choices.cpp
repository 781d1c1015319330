// Name tables of the configuration enums.
#include "transformer/config/config.h"

namespace qkv {

const Choices<Family>& family_choices() {
  static const Choices<Family> c{{"gpt", Family::kGpt}, {"bert", Family::kBert}, {"seq2seq", Family::kSeq2Seq}};
  return c;
}
const Choices<InitScheme>& init_choices() {
  static const Choices<InitScheme> c{{"gpt2", InitScheme::kGpt2}, {"xavier", InitScheme::kXavier}};
  return c;
}
const Choices<TaskKind>& task_choices() {
  static const Choices<TaskKind> c{{"causal_lm", TaskKind::kCausalLm},
                                   {"copy", TaskKind::kCopy},
                                   {"reverse", TaskKind::kReverse},
                                   {"addition", TaskKind::kAddition}};
  return c;
}
bool task_option_applies(TaskKind kind, const std::string& key) {
  if (key == "symbols") return kind == TaskKind::kCopy || kind == TaskKind::kReverse;
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
const Choices<TokenizerType>& tokenizer_type_choices() {
  static const Choices<TokenizerType> c{{"unigram", TokenizerType::kUnigram}, {"bpe", TokenizerType::kBpe}};
  return c;
}
const Choices<PositionKind>& position_choices() {
  static const Choices<PositionKind> c{{"none", PositionKind::kNone},   {"sinusoidal", PositionKind::kSinusoidal},
                                       {"learned", PositionKind::kLearned}, {"shaw", PositionKind::kShaw},
                                       {"t5", PositionKind::kT5},       {"rope", PositionKind::kRope},
                                       {"alibi", PositionKind::kAlibi}};
  return c;
}
PositionKind position_option_owner(const std::string& key) {
  if (key == "clip") return PositionKind::kShaw;
  if (key == "buckets" || key == "max_distance") return PositionKind::kT5;
  if (key == "base" || key == "fraction") return PositionKind::kRope;
  return PositionKind::kNone;
}

bool position_option_applies(PositionKind scheme, const std::string& key) {
  const PositionKind owner = position_option_owner(key);
  return owner == PositionKind::kNone || owner == scheme;
}

const Choices<NormKind>& norm_kind_choices() {
  static const Choices<NormKind> c{{"layernorm", NormKind::kLayerNorm}, {"rmsnorm", NormKind::kRmsNorm}};
  return c;
}
const Choices<Activation>& activation_choices() {
  static const Choices<Activation> c{{"relu", Activation::kRelu}, {"gelu", Activation::kGelu}, {"swiglu", Activation::kSwiglu}};
  return c;
}
const Choices<bool>& norm_placement_choices() {
  static const Choices<bool> c{{"pre", true}, {"post", false}};
  return c;
}

}  // namespace qkv
