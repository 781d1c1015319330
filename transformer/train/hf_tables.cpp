// The name tables of GPT-2 and BERT (Hugging Face's modeling_gpt2 and modeling_bert) against
// qkv's modules (cli `qkv info` lists them).
#include "transformer/train/hf_tables.h"

#include "transformer/util/atomic_file.h"

#include <fstream>
#include <sstream>

namespace qkv::io::hf {

std::vector<Rule> gpt2_rules(const ModelConfig& m, bool lm_head) {
  std::vector<Rule> rules{{"token_embedding.weight", {"wte.weight"}}, {"decoder.position.table.weight", {"wpe.weight"}}};
  for (int64_t i = 0; i < m.layers; ++i) {
    const std::string h = fmt::format("h.{}.", i), q = fmt::format("decoder.block_{}.", i);
    for (const std::string p : {"weight", "bias"}) {
      const Op linear = p == "weight" ? Op::kTranspose : Op::kCopy;
      rules.push_back({q + "self_norm." + p, {h + "ln_1." + p}});
      rules.push_back({q + "self_attn.qkv." + p, {h + "attn.c_attn." + p}, linear});
      rules.push_back({q + "self_attn.out." + p, {h + "attn.c_proj." + p}, linear});
      rules.push_back({q + "ff_norm." + p, {h + "ln_2." + p}});
      rules.push_back({q + "ff.up." + p, {h + "mlp.c_fc." + p}, linear});
      rules.push_back({q + "ff.down." + p, {h + "mlp.c_proj." + p}, linear});
    }
  }
  rules.push_back({"decoder.final_norm.weight", {"ln_f.weight"}});
  rules.push_back({"decoder.final_norm.bias", {"ln_f.bias"}});
  if (lm_head) rules.push_back({"lm_head.weight", {"lm_head.weight"}});
  return rules;
}

std::vector<Rule> bert_rules(const ModelConfig& m) {
  std::vector<Rule> rules{{"token_embedding.weight", {"embeddings.word_embeddings.weight"}},
                          {"encoder.position.table.weight", {"embeddings.position_embeddings.weight"}},
                          {"segment_embedding.weight", {"embeddings.token_type_embeddings.weight"}},
                          {"encoder.embed_norm.weight", {"embeddings.LayerNorm.weight"}},
                          {"encoder.embed_norm.bias", {"embeddings.LayerNorm.bias"}}};
  for (int64_t i = 0; i < m.layers; ++i) {
    const std::string l = fmt::format("encoder.layer.{}.", i), q = fmt::format("encoder.block_{}.", i);
    for (const std::string p : {"weight", "bias"}) {
      const std::string a = l + "attention.self.";
      rules.push_back({q + "self_attn.qkv." + p, {a + "query." + p, a + "key." + p, a + "value." + p}, Op::kConcat});
      rules.push_back({q + "self_attn.out." + p, {l + "attention.output.dense." + p}});
      rules.push_back({q + "self_norm." + p, {l + "attention.output.LayerNorm." + p}});
      rules.push_back({q + "ff.up." + p, {l + "intermediate.dense." + p}});
      rules.push_back({q + "ff.down." + p, {l + "output.dense." + p}});
      rules.push_back({q + "ff_norm." + p, {l + "output.LayerNorm." + p}});
    }
  }
  for (const std::string p : {"weight", "bias"}) {
    if (m.pooler) rules.push_back({"pooler." + p, {"pooler.dense." + p}});
    rules.push_back({"mlm_transform." + p, {"cls.predictions.transform.dense." + p}, Op::kCopy, true});
    rules.push_back({"mlm_norm." + p, {"cls.predictions.transform.LayerNorm." + p}, Op::kCopy, true});
    if (m.sentence_head) rules.push_back({"sentence_head." + p, {"cls.seq_relationship." + p}});
    if (m.num_classes > 0) rules.push_back({"classifier." + p, {"classifier." + p}});
  }
  rules.push_back({"mlm_bias", {"cls.predictions.bias"}, Op::kCopy, true});
  return rules;
}

Activation activation_of(const std::string& name, const std::string& path, const char* key) {
  if (name == "gelu_new" || name == "gelu_pytorch_tanh" || name == "gelu_fast") return Activation::kGeluTanh;
  if (name == "gelu") return Activation::kGelu;
  if (name == "relu") return Activation::kRelu;
  throw InputError(fmt::format("{}: field {}: activation {} has no qkv equivalent (gelu, gelu_new, relu)", path, key, name));
}

const char* activation_name(Activation a) {
  return a == Activation::kGeluTanh ? "gelu_new" : a == Activation::kGelu ? "gelu" : "relu";
}

std::string read_text(const std::filesystem::path& path) { return read_input_file(path.string(), "file"); }

nlohmann::json read_json(const std::filesystem::path& path) {
  const std::string text = read_text(path);
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw InputError(fmt::format("{}: byte {}: invalid JSON", path.string(), e.byte > 0 ? e.byte - 1 : 0));
  }
}

}  // namespace qkv::io::hf
