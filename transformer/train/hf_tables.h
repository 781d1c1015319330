// What qkv's import and export of Hugging Face models share: one table per family mapping each
// qkv tensor to the Hugging Face tensors it is made of, and config.json reading.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "transformer/config/model_config.h"
#include "transformer/util/errors.h"

namespace qkv::io::hf {

// How one qkv tensor is made of Hugging Face tensors.
enum class Op {
  kCopy,       // the same tensor
  kTranspose,  // GPT-2's Conv1D weights: (in, out) there, (out, in) here
  kConcat,     // BERT's query, key and value stacked along the output dimension
};

struct Rule {
  std::string qkv;
  std::vector<std::string> hf;  // names without the base model's prefix
  Op op = Op::kCopy;
  bool optional = false;  // a part some architectures lack (BERT's masked-LM head)
};

// GPT-2 (modeling_gpt2's names under GPT2Model); lm_head only when it is not tied.
std::vector<Rule> gpt2_rules(const ModelConfig& model, bool lm_head);
// BERT (modeling_bert's names under BertModel, and the heads' cls.* and classifier.*).
std::vector<Rule> bert_rules(const ModelConfig& model);

// Hugging Face's activation names to qkv's: gelu_new and its aliases are gelu_tanh.
Activation activation_of(const std::string& name, const std::string& path, const char* key);
const char* activation_name(Activation activation);

std::string read_text(const std::filesystem::path& path);
nlohmann::json read_json(const std::filesystem::path& path);

// A config.json field, or its default when absent or null; InputError naming the field when it
// has another type.
template <class T>
T get(const nlohmann::json& config, const std::string& path, const char* key, const T& fallback) {
  if (!config.contains(key) || config[key].is_null()) return fallback;
  try {
    return config[key].get<T>();
  } catch (const nlohmann::json::exception&) {
    throw InputError(fmt::format("{}: field {}: unexpected value {}", path, key, config[key].dump()));
  }
}

inline void refuse_if(bool condition, const std::string& path, const char* key, const std::string& why) {
  if (condition) throw InputError(fmt::format("{}: field {}: {}", path, key, why));
}

}  // namespace qkv::io::hf
