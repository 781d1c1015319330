// Fixtures of the Hugging Face tests: tiny GPT-2 and BERT checkpoints with random weights written in
// Hugging Face's layout, and a reference forward pass written plainly from the published
// architectures (Radford et al. 2019; Devlin et al. 2019) that reads those tensors by their
// Hugging Face names.
#pragma once

#include <catch2/catch.hpp>

#include <algorithm>
#include <functional>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "helpers.h"
#include "transformer/config/experiment.h"
#include "transformer/infer/generate.h"
#include "transformer/io/safetensors.h"
#include "transformer/text/tokenizer.h"
#include "transformer/train/checkpoint.h"
#include "transformer/train/hf_model.h"
#include "transformer/util/errors.h"

using namespace qkv;
using Weights = std::map<std::string, torch::Tensor>;


namespace hf_test {


inline constexpr int64_t kC = 16, kHeads = 2, kLayers = 2, kFf = 40, kPositions = 24;

inline torch::Tensor layer_norm(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b, double eps) {
  const auto mu = x.mean(-1, true);
  const auto var = (x - mu).pow(2).mean(-1, true);
  return (x - mu) / torch::sqrt(var + eps) * w + b;
}

inline torch::Tensor gelu_tanh(const torch::Tensor& x) {
  return 0.5 * x * (1 + torch::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * x.pow(3))));
}
inline torch::Tensor gelu_erf(const torch::Tensor& x) { return 0.5 * x * (1 + torch::erf(x / std::sqrt(2.0))); }

// Scaled dot-product attention over heads; keys where `allowed` (B, Tq, Tk) is false get no weight.
inline torch::Tensor attend(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, const torch::Tensor& allowed) {
  const int64_t b = q.size(0), t = q.size(1), d = kC / kHeads;
  auto heads = [&](const torch::Tensor& x) { return x.view({b, x.size(1), kHeads, d}).transpose(1, 2); };
  auto scores = heads(q).matmul(heads(k).transpose(-1, -2)) / std::sqrt(double(d));
  scores = scores.masked_fill(allowed.unsqueeze(1).logical_not(), -INFINITY);
  return torch::softmax(scores, -1).matmul(heads(v)).transpose(1, 2).reshape({b, t, kC});
}

// GPT-2 (GPT2LMHeadModel, tied output) from Hugging Face's tensor names.
inline torch::Tensor gpt2_reference(Weights& w, const torch::Tensor& ids, const torch::Tensor& keep) {
  const int64_t b = ids.size(0), t = ids.size(1);
  auto x = w["wte.weight"].index_select(0, ids.flatten()).view({b, t, kC}) + w["wpe.weight"].narrow(0, 0, t);
  const auto causal = torch::ones({t, t}, torch::kBool).tril();
  const auto allowed = causal.unsqueeze(0) & keep.unsqueeze(1);
  for (int64_t l = 0; l < kLayers; ++l) {
    const std::string p = "h." + std::to_string(l) + ".";
    auto h = layer_norm(x, w[p + "ln_1.weight"], w[p + "ln_1.bias"], 1e-5);
    const auto qkv = (h.matmul(w[p + "attn.c_attn.weight"]) + w[p + "attn.c_attn.bias"]).split(kC, -1);
    x = x + attend(qkv[0], qkv[1], qkv[2], allowed).matmul(w[p + "attn.c_proj.weight"]) + w[p + "attn.c_proj.bias"];
    h = layer_norm(x, w[p + "ln_2.weight"], w[p + "ln_2.bias"], 1e-5);
    h = gelu_tanh(h.matmul(w[p + "mlp.c_fc.weight"]) + w[p + "mlp.c_fc.bias"]);
    x = x + h.matmul(w[p + "mlp.c_proj.weight"]) + w[p + "mlp.c_proj.bias"];
  }
  x = layer_norm(x, w["ln_f.weight"], w["ln_f.bias"], 1e-5);
  return x.matmul(w["wte.weight"].t());
}

struct BertOutputs {
  torch::Tensor mlm, nsp;
};

// BERT (BertForPreTraining) from Hugging Face's tensor names, the "bert." prefix dropped.
inline BertOutputs bert_reference(Weights& w, const torch::Tensor& ids, const torch::Tensor& types, const torch::Tensor& keep) {
  const int64_t b = ids.size(0), t = ids.size(1);
  const double eps = 1e-12;
  auto linear = [&](const torch::Tensor& x, const std::string& n) { return x.matmul(w[n + ".weight"].t()) + w[n + ".bias"]; };
  auto x = w["embeddings.word_embeddings.weight"].index_select(0, ids.flatten()).view({b, t, kC}) +
           w["embeddings.position_embeddings.weight"].narrow(0, 0, t) +
           w["embeddings.token_type_embeddings.weight"].index_select(0, types.flatten()).view({b, t, kC});
  x = layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps);
  const auto allowed = keep.unsqueeze(1).expand({b, t, t});
  for (int64_t l = 0; l < kLayers; ++l) {
    const std::string p = "encoder.layer." + std::to_string(l) + ".";
    const auto a = attend(linear(x, p + "attention.self.query"), linear(x, p + "attention.self.key"),
                          linear(x, p + "attention.self.value"), allowed);
    x = layer_norm(x + linear(a, p + "attention.output.dense"), w[p + "attention.output.LayerNorm.weight"],
                   w[p + "attention.output.LayerNorm.bias"], eps);
    const auto h = linear(gelu_erf(linear(x, p + "intermediate.dense")), p + "output.dense");
    x = layer_norm(x + h, w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], eps);
  }
  auto m = gelu_erf(linear(x, "cls.predictions.transform.dense"));
  m = layer_norm(m, w["cls.predictions.transform.LayerNorm.weight"], w["cls.predictions.transform.LayerNorm.bias"], eps);
  const auto pooled = torch::tanh(linear(x.select(1, 0), "pooler.dense"));
  return {m.matmul(w["embeddings.word_embeddings.weight"].t()) + w["cls.predictions.bias"], linear(pooled, "cls.seq_relationship")};
}

inline torch::Tensor random_like_param(const std::string& name, std::vector<int64_t> shape, torch::Generator& g) {
  const bool norm_weight = name.find("ln_") != std::string::npos || name.find("LayerNorm") != std::string::npos;
  const bool is_weight = name.size() > 7 && name.substr(name.size() - 7) == ".weight";
  auto t = torch::randn(shape, g);
  return norm_weight && is_weight ? 1 + 0.1 * t : 0.3 * t;
}

// GPT-2's byte-to-character spelling, for a vocabulary of the 256 bytes and a few merges.
inline std::string spelled(int byte) {
  int next = 0;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    const int code = printable ? b : 256 + next++;
    if (b == byte) {
      std::string out;
      if (code < 0x80) out += char(code);
      else out += char(0xC0 | (code >> 6)), out += char(0x80 | (code & 0x3F));
      return out;
    }
  }
  return "";
}

inline int64_t write_gpt2_tokenizer(const std::filesystem::path& dir) {
  nlohmann::ordered_json vocab;
  for (int b = 0; b < 256; ++b) vocab[spelled(b)] = b;
  const std::vector<std::pair<std::string, std::string>> merges{{"h", "e"}, {spelled(' '), "t"}, {spelled(' ') + "t", "he"}, {"i", "n"}};
  int id = 256;
  std::ofstream m(dir / "merges.txt");
  m << "#version: 0.2\n";
  for (const auto& [a, b] : merges) vocab[a + b] = id++, m << a << " " << b << "\n";
  vocab["<|endoftext|>"] = id++;
  std::ofstream(dir / "vocab.json") << vocab.dump();
  return id;
}

struct Gpt2Dir {
  Weights weights;  // without prefixes
  int64_t vocab = 0;
};

// A GPT2LMHeadModel as Hugging Face saves one; `prefixed` spells names "transformer.h.0..." and
// keeps the causal-mask buffers and the tied lm_head.weight, as older checkpoints do.
inline Gpt2Dir write_gpt2(const std::filesystem::path& dir, bool prefixed, uint64_t seed) {
  std::filesystem::create_directories(dir);
  Gpt2Dir out;
  out.vocab = write_gpt2_tokenizer(dir);
  auto g = at::detail::createCPUGenerator(seed);
  auto add = [&](const std::string& n, std::vector<int64_t> shape) { out.weights[n] = random_like_param(n, shape, g); };
  add("wte.weight", {out.vocab, kC});
  add("wpe.weight", {kPositions, kC});
  for (int64_t l = 0; l < kLayers; ++l) {
    const std::string p = "h." + std::to_string(l) + ".";
    for (const char* ln : {"ln_1", "ln_2"}) add(p + ln + ".weight", {kC}), add(p + ln + ".bias", {kC});
    add(p + "attn.c_attn.weight", {kC, 3 * kC}), add(p + "attn.c_attn.bias", {3 * kC});
    add(p + "attn.c_proj.weight", {kC, kC}), add(p + "attn.c_proj.bias", {kC});
    add(p + "mlp.c_fc.weight", {kC, kFf}), add(p + "mlp.c_fc.bias", {kFf});
    add(p + "mlp.c_proj.weight", {kFf, kC}), add(p + "mlp.c_proj.bias", {kC});
  }
  add("ln_f.weight", {kC}), add("ln_f.bias", {kC});
  std::vector<std::pair<std::string, torch::Tensor>> stored;
  for (const auto& [n, t] : out.weights) stored.emplace_back((prefixed ? "transformer." : "") + n, t);
  if (prefixed) {
    stored.emplace_back("lm_head.weight", out.weights["wte.weight"]);
    for (int64_t l = 0; l < kLayers; ++l)
      stored.emplace_back("transformer.h." + std::to_string(l) + ".attn.bias",
                          torch::ones({kPositions, kPositions}).tril().view({1, 1, kPositions, kPositions}));
  }
  io::write_safetensors((dir / "model.safetensors").string(), stored, {{"format", "pt"}});
  std::ofstream(dir / "config.json") << nlohmann::json{{"architectures", {"GPT2LMHeadModel"}}, {"model_type", "gpt2"},
                                                       {"vocab_size", out.vocab}, {"n_positions", kPositions},
                                                       {"n_embd", kC}, {"n_layer", kLayers}, {"n_head", kHeads},
                                                       {"n_inner", kFf}, {"activation_function", "gelu_new"}}
                                            .dump(2);
  return out;
}

// The imported run's model, evaluation mode, its checkpoint loaded.
inline Model load_run(const std::string& run, int64_t* vocab_out = nullptr) {
  const auto loaded = load_experiment(run + "/config.yaml", {}, ValidateOptions{false});
  const Tokenizer tokenizer = Tokenizer::load(run + "/tokenizer.model");
  const auto checkpoint = CheckpointStore(run, 1).newest_valid();
  REQUIRE(checkpoint);
  const io::SafetensorsFile weights(*checkpoint + "/model.safetensors");
  const int64_t vocab = weights.entry("token_embedding.weight").shape[0];
  if (vocab_out) *vocab_out = vocab;
  Model model = make_model(loaded.experiment.model, vocab);
  load_checkpoint(*checkpoint, model, nullptr, tokenizer.checksum());
  model->eval();
  return model;
}

// Three rows of lengths 9, 5 and 1, padded on the right with `pad`.
inline std::pair<torch::Tensor, torch::Tensor> padded_batch(int64_t vocab, int64_t pad, uint64_t seed) {
  auto g = at::detail::createCPUGenerator(seed);
  auto ids = torch::randint(0, vocab, {3, 9}, g, torch::kLong);
  auto keep = torch::zeros({3, 9}, torch::kBool);
  const int64_t lengths[] = {9, 5, 1};
  for (int64_t r = 0; r < 3; ++r) keep[r].narrow(0, 0, lengths[r]).fill_(true);
  return {ids.masked_fill(keep.logical_not(), pad), keep};
}

inline double max_difference_where(const torch::Tensor& a, const torch::Tensor& b, const torch::Tensor& keep) {
  return (a - b).abs().amax(-1).masked_select(keep).max().item<double>();
}



// A BertForPreTraining (or, with `classes`, a BertForSequenceClassification) as Hugging Face saves
// one: "bert." prefixes; `old_names` spells LayerNorm parameters gamma and beta.
inline Weights write_bert(const std::filesystem::path& dir, bool old_names, int64_t classes, uint64_t seed) {
  std::filesystem::create_directories(dir);
  std::ofstream vocab(dir / "vocab.txt");
  for (const char* piece : {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "lord", "said", ",", ".", "un", "##want", "##ed"})
    vocab << piece << "\n";
  for (char c = 'a'; c <= 'z'; ++c) vocab << c << "\n##" << c << "\n";
  vocab.close();
  const int64_t v = 13 + 52;
  Weights w;
  auto g = at::detail::createCPUGenerator(seed);
  auto add = [&](const std::string& n, std::vector<int64_t> shape) { w[n] = random_like_param(n, shape, g); };
  add("embeddings.word_embeddings.weight", {v, kC});
  add("embeddings.position_embeddings.weight", {kPositions, kC});
  add("embeddings.token_type_embeddings.weight", {2, kC});
  add("embeddings.LayerNorm.weight", {kC}), add("embeddings.LayerNorm.bias", {kC});
  for (int64_t l = 0; l < kLayers; ++l) {
    const std::string p = "encoder.layer." + std::to_string(l) + ".";
    for (const char* n : {"attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"})
      add(p + n + ".weight", {kC, kC}), add(p + n + ".bias", {kC});
    add(p + "intermediate.dense.weight", {kFf, kC}), add(p + "intermediate.dense.bias", {kFf});
    add(p + "output.dense.weight", {kC, kFf}), add(p + "output.dense.bias", {kC});
    for (const char* n : {"attention.output.LayerNorm", "output.LayerNorm"}) add(p + n + ".weight", {kC}), add(p + n + ".bias", {kC});
  }
  add("pooler.dense.weight", {kC, kC}), add("pooler.dense.bias", {kC});
  if (classes > 0) {
    add("classifier.weight", {classes, kC}), add("classifier.bias", {classes});
  } else {
    add("cls.predictions.transform.dense.weight", {kC, kC}), add("cls.predictions.transform.dense.bias", {kC});
    add("cls.predictions.transform.LayerNorm.weight", {kC}), add("cls.predictions.transform.LayerNorm.bias", {kC});
    add("cls.predictions.bias", {v});
    add("cls.seq_relationship.weight", {2, kC}), add("cls.seq_relationship.bias", {2});
  }
  std::vector<std::pair<std::string, torch::Tensor>> stored;
  for (const auto& [n, t] : w) {
    std::string name = (n.rfind("cls.", 0) == 0 || n.rfind("classifier.", 0) == 0 ? "" : "bert.") + n;
    if (old_names && name.size() > 17 && name.find("LayerNorm.weight") != std::string::npos) name.replace(name.size() - 6, 6, "gamma");
    if (old_names && name.find("LayerNorm.bias") != std::string::npos) name.replace(name.size() - 4, 4, "beta");
    stored.emplace_back(name, t);
  }
  if (classes == 0) stored.emplace_back("cls.predictions.decoder.weight", w["embeddings.word_embeddings.weight"]);
  io::write_safetensors((dir / "model.safetensors").string(), stored);
  nlohmann::json config{{"architectures", {classes > 0 ? "BertForSequenceClassification" : "BertForPreTraining"}},
                        {"model_type", "bert"}, {"vocab_size", v}, {"hidden_size", kC}, {"num_hidden_layers", kLayers},
                        {"num_attention_heads", kHeads}, {"intermediate_size", kFf}, {"max_position_embeddings", kPositions}};
  std::ofstream(dir / "config.json") << config.dump(2);
  return w;
}


}  // namespace hf_test
