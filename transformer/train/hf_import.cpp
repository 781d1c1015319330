// Hugging Face GPT-2 and BERT directories read into qkv's options and tensor names, and written
// as a qkv run. Configuration keys and defaults are those of GPT2Config and BertConfig.
#include <filesystem>
#include <map>
#include <regex>
#include <set>

#include "transformer/config/experiment.h"
#include "transformer/text/tokenizer.h"
#include "transformer/train/checkpoint.h"
#include "transformer/train/hf_model.h"
#include "transformer/train/hf_tables.h"
#include "transformer/util/atomic_file.h"

namespace qkv::io {

namespace fs = std::filesystem;
using namespace hf;

namespace {

// The checkpoint's tensors by the names the tables use, and which of them are accounted for.
struct Stored {
  const SafetensorsCheckpoint* ckpt = nullptr;
  std::map<std::string, std::string> by_name;  // table name -> stored name
  std::set<std::string> used;

  bool has(const std::string& n) const { return by_name.count(n) > 0; }
  const TensorEntry& entry(const std::string& n) const { return ckpt->entry(by_name.at(n)); }
  bool same(const std::string& a, const std::string& b) const {  // a tied copy
    const TensorEntry &x = entry(a), &y = entry(b);
    return x.shape == y.shape && x.dtype == y.dtype && torch::equal(ckpt->get(by_name.at(a)), ckpt->get(by_name.at(b)));
  }
  void ignore(const std::string& n) {
    if (has(n)) used.insert(n);
  }
};

// The name Hugging Face's loader gives a stored key: the base model's prefix dropped and the old
// LayerNorm names (gamma, beta) made current.
Stored index_names(const SafetensorsCheckpoint& ckpt, const std::string& prefix) {
  static const std::regex gamma(R"(LayerNorm\.gamma$)"), beta(R"(LayerNorm\.beta$)");
  Stored s;
  s.ckpt = &ckpt;
  for (const std::string& name : ckpt.names()) {
    std::string n = name.rfind(prefix, 0) == 0 ? name.substr(prefix.size()) : name;
    n = std::regex_replace(std::regex_replace(n, gamma, "LayerNorm.weight"), beta, "LayerNorm.bias");
    if (!s.by_name.emplace(n, name).second)
      throw InputError(fmt::format("{}: tensors {} and {} are the same parameter", ckpt.path(), s.by_name[n], name));
  }
  return s;
}

void gpt2_options(const nlohmann::json& config, const std::string& path, HfModel& out, Stored& stored) {
  ModelConfig& m = out.model;
  m.family = Family::kGpt;
  m.d_model = get<int64_t>(config, path, "n_embd", 768);
  m.layers = get<int64_t>(config, path, "n_layer", 12);
  m.heads = get<int64_t>(config, path, "n_head", 12);
  m.d_ff = get<int64_t>(config, path, "n_inner", 4 * m.d_model);
  m.max_len = get<int64_t>(config, path, "n_positions", get<int64_t>(config, path, "n_ctx", 1024));
  m.activation = activation_of(get<std::string>(config, path, "activation_function", "gelu_new"), path, "activation_function");
  m.norm_eps = get<double>(config, path, "layer_norm_epsilon", 1e-5);
  m.dropout = get<double>(config, path, "resid_pdrop", 0.1);
  m.attention_dropout = get<double>(config, path, "attn_pdrop", 0.1);
  m.embedding_dropout = get<double>(config, path, "embd_pdrop", 0.1);
  m.pre_norm = true;
  refuse_if(!get<bool>(config, path, "scale_attn_weights", true), path, "scale_attn_weights",
            "false (unscaled attention) has no qkv equivalent");
  refuse_if(get<bool>(config, path, "scale_attn_by_inverse_layer_idx", false), path, "scale_attn_by_inverse_layer_idx",
            "true has no qkv equivalent");
  refuse_if(get<bool>(config, path, "add_cross_attention", false), path, "add_cross_attention",
            "true (a decoder of an encoder-decoder) is not supported");
  for (int64_t i = 0; i < m.layers; ++i) {  // GPT-2's causal-mask buffers: constants, not parameters
    stored.ignore(fmt::format("h.{}.attn.bias", i));
    stored.ignore(fmt::format("h.{}.attn.masked_bias", i));
  }
  bool untied = false;
  if (stored.has("lm_head.weight")) {
    untied = !(stored.has("wte.weight") && stored.same("lm_head.weight", "wte.weight"));
    if (!untied) {
      stored.ignore("lm_head.weight");
      out.notes.push_back("lm_head.weight: the tied copy of wte.weight, kept once");
    }
  }
  m.tie_embeddings = !untied;
}

void bert_options(const nlohmann::json& config, const std::string& path, HfModel& out, Stored& stored) {
  ModelConfig& m = out.model;
  m.family = Family::kBert;
  m.d_model = get<int64_t>(config, path, "hidden_size", 768);
  m.layers = get<int64_t>(config, path, "num_hidden_layers", 12);
  m.heads = get<int64_t>(config, path, "num_attention_heads", 12);
  m.d_ff = get<int64_t>(config, path, "intermediate_size", 3072);
  m.max_len = get<int64_t>(config, path, "max_position_embeddings", 512);
  m.segments = get<int64_t>(config, path, "type_vocab_size", 2);
  m.activation = activation_of(get<std::string>(config, path, "hidden_act", "gelu"), path, "hidden_act");
  m.norm_eps = get<double>(config, path, "layer_norm_eps", 1e-12);
  m.dropout = m.embedding_dropout = get<double>(config, path, "hidden_dropout_prob", 0.1);
  m.attention_dropout = get<double>(config, path, "attention_probs_dropout_prob", 0.1);
  m.pre_norm = false;
  m.embed_norm = true;
  m.tie_embeddings = true;
  m.pool = Pooling::kFirst;
  const std::string position = get<std::string>(config, path, "position_embedding_type", "absolute");
  refuse_if(position != "absolute", path, "position_embedding_type", fmt::format("{} is not supported (absolute)", position));
  refuse_if(get<bool>(config, path, "is_decoder", false), path, "is_decoder", "true is not supported");
  refuse_if(get<bool>(config, path, "add_cross_attention", false), path, "add_cross_attention", "true is not supported");
  stored.ignore("embeddings.position_ids");  // a buffer of 0..max_len-1
  m.pooler = stored.has("pooler.dense.weight");
  m.sentence_head = stored.has("cls.seq_relationship.weight");
  if (stored.has("classifier.weight")) m.num_classes = stored.entry("classifier.weight").shape.at(0);
  for (const auto& [copy, of] : {std::pair<std::string, std::string>{"cls.predictions.decoder.weight", "embeddings.word_embeddings.weight"},
                                 {"cls.predictions.decoder.bias", "cls.predictions.bias"}}) {
    if (!stored.has(copy)) continue;
    if (!stored.has(of) || !stored.same(copy, of))
      throw InputError(fmt::format("{}: tensor {}: differs from {}; qkv ties them as BERT does", stored.ckpt->path(),
                                   stored.by_name.at(copy), of));
    stored.ignore(copy);
  }
}

// The shape config.json implies for a qkv tensor; empty when it implies none.
std::vector<int64_t> implied_shape(const std::string& name, const ModelConfig& m, int64_t vocab) {
  const int64_t c = m.d_model;
  const auto has = [&](const char* part) { return name.find(part) != std::string::npos; };
  if (name == "token_embedding.weight" || name == "lm_head.weight") return {vocab, c};
  if (has("position.table")) return {m.max_len, c};
  if (name == "segment_embedding.weight") return {m.segments, c};
  if (name == "mlm_bias") return {vocab};
  if (has("self_attn.qkv.weight")) return {3 * c, c};
  if (has("self_attn.qkv.bias")) return {3 * c};
  if (has("ff.up.weight")) return {m.d_ff, c};
  if (has("ff.up.bias")) return {m.d_ff};
  if (has("ff.down.weight")) return {c, m.d_ff};
  if (has("classifier") || has("sentence_head")) return {};
  if (has(".weight") && (has("out.") || has("pooler") || has("mlm_transform"))) return {c, c};
  return {c};  // norms and the remaining biases
}

// One tensor source per rule, checked for presence and shape now and made when written; false
// when an optional rule's tensors are absent.
bool add_source(const Rule& rule, const std::shared_ptr<SafetensorsCheckpoint>& ckpt, Stored& stored, HfModel& out,
                int64_t vocab) {
  std::vector<std::string> names;
  for (const std::string& n : rule.hf) {
    if (!stored.has(n)) {
      if (rule.optional) return false;
      throw InputError(fmt::format("{}: tensor {}: missing ({} needs it)", ckpt->path(), n, out.architecture));
    }
    names.push_back(stored.by_name.at(n));
    stored.used.insert(n);
  }
  const TensorEntry& first = ckpt->entry(names[0]);
  for (const std::string& n : names) {
    const TensorEntry& e = ckpt->entry(n);
    if (e.shape != first.shape || e.dtype != first.dtype)
      throw InputError(fmt::format("{}: tensor {}: shape or dtype differs from {}", ckpt->path(), n, names[0]));
  }
  std::vector<int64_t> shape = first.shape;
  if (rule.op == Op::kTranspose && shape.size() == 2) std::swap(shape[0], shape[1]);
  if (rule.op == Op::kConcat && !shape.empty()) shape[0] *= int64_t(names.size());
  const std::vector<int64_t> want = implied_shape(rule.qkv, out.model, vocab);
  if (!want.empty() && shape != want)
    throw InputError(fmt::format("{}: tensor {}: shape [{}] as qkv's {} where config.json implies [{}]", ckpt->path(), names[0],
                                 fmt::join(shape, ", "), rule.qkv, fmt::join(want, ", ")));
  const Op op = rule.op;
  out.tensors.push_back(TensorSource{rule.qkv, first.dtype, shape,
                                     [ckpt, names, op]() -> torch::Tensor {
                                       if (op == Op::kTranspose) return ckpt->get(names[0]).t();
                                       if (op == Op::kCopy) return ckpt->get(names[0]);
                                       std::vector<torch::Tensor> parts;
                                       for (const auto& n : names) parts.push_back(ckpt->get(n));
                                       return torch::cat(parts, 0);
                                     },
                                     [ckpt, names] {
                                       for (const auto& n : names) ckpt->release(n);
                                     }});
  return true;
}

// BertModel and BertForSequenceClassification carry no masked-LM head; qkv's bert has one.
void fresh_mlm_head(HfModel& out, int64_t vocab) {
  const int64_t c = out.model.d_model;
  for (const std::string part : {"mlm_transform.weight", "mlm_transform.bias", "mlm_norm.weight", "mlm_norm.bias", "mlm_bias"}) {
    const std::vector<int64_t> shape = part == "mlm_transform.weight" ? std::vector<int64_t>{c, c}
                                       : part == "mlm_bias"           ? std::vector<int64_t>{vocab}
                                                                      : std::vector<int64_t>{c};
    out.tensors.push_back(TensorSource{part, torch::kFloat32, shape, [part, shape] {
                                         if (part == "mlm_transform.weight") {
                                           auto g = at::detail::createCPUGenerator(20261202);
                                           return torch::empty(shape).normal_(0.0, 0.02, g);  // BERT's initializer_range
                                         }
                                         return part == "mlm_norm.weight" ? torch::ones(shape) : torch::zeros(shape);
                                       }, {}});
  }
  out.notes.push_back(fmt::format("{} has no masked-LM head: mlm_transform, mlm_norm and mlm_bias start fresh "
                                  "(masked-token predictions mean nothing until trained)", out.architecture));
}

std::string tokenizer_files(const fs::path& root, bool gpt2) {
  if (gpt2 && fs::exists(root / "vocab.json") && fs::exists(root / "merges.txt"))
    return Tokenizer::bpe_bundle(read_text(root / "vocab.json"), read_text(root / "merges.txt"));
  if (!gpt2 && fs::exists(root / "vocab.txt")) {
    bool lower = true;  // BERT's do_lower_case, in tokenizer_config.json
    if (const fs::path c = root / "tokenizer_config.json"; fs::exists(c)) lower = get<bool>(read_json(c), c.string(), "do_lower_case", true);
    return Tokenizer::wordpiece_bundle(read_text(root / "vocab.txt"), lower);
  }
  if (fs::exists(root / "tokenizer.model")) return read_text(root / "tokenizer.model");  // written by qkv export
  throw InputError(fmt::format("{}: no tokenizer files ({})", root.string(), gpt2 ? "vocab.json and merges.txt" : "vocab.txt"));
}

void check_architecture(HfModel& out, const std::string& path) {
  const std::set<std::string> gpt2{"GPT2LMHeadModel", "GPT2Model"};
  const std::set<std::string> bert{"BertForMaskedLM", "BertForPreTraining", "BertModel", "BertForSequenceClassification"};
  if (out.model_type != "gpt2" && out.model_type != "bert")
    throw InputError(fmt::format("{}: field model_type: {} is not supported (gpt2, bert)", path,
                                 out.model_type.empty() ? "missing" : out.model_type));
  const bool is_gpt2 = out.model_type == "gpt2";
  if (out.architecture.empty()) out.architecture = is_gpt2 ? "GPT2Model" : "BertModel";
  refuse_if(!(is_gpt2 ? gpt2 : bert).count(out.architecture), path, "architectures",
            fmt::format("{} is not supported ({})", out.architecture,
                        is_gpt2 ? "GPT2LMHeadModel, GPT2Model"
                                : "BertForMaskedLM, BertForPreTraining, BertModel, BertForSequenceClassification"));
}

}  // namespace

HfModel read_hf(const std::string& dir) {
  const fs::path root(dir);
  const std::string config_path = (root / "config.json").string();
  if (!fs::exists(config_path)) throw InputError(fmt::format("{}: no config.json (not a Hugging Face model directory)", dir));
  const nlohmann::json config = read_json(config_path);
  if (!config.is_object()) throw InputError(fmt::format("{}: not a JSON object", config_path));
  HfModel out;
  out.model_type = get<std::string>(config, config_path, "model_type", "");
  const auto architectures = get<std::vector<std::string>>(config, config_path, "architectures", {});
  out.architecture = architectures.empty() ? "" : architectures.front();
  check_architecture(out, config_path);
  const bool gpt2 = out.model_type == "gpt2";
  out.checkpoint = std::make_shared<SafetensorsCheckpoint>(dir);
  Stored stored = index_names(*out.checkpoint, gpt2 ? "transformer." : "bert.");
  ModelConfig& m = out.model;
  m.position.scheme = "learned";
  m.init = InitScheme::kGpt2;
  if (gpt2) gpt2_options(config, config_path, out, stored);
  else bert_options(config, config_path, out, stored);
  const int64_t vocab = get<int64_t>(config, config_path, "vocab_size", gpt2 ? 50257 : 30522);
  refuse_if(m.heads <= 0 || m.d_model % m.heads != 0, config_path, gpt2 ? "n_head" : "num_attention_heads",
            fmt::format("{} heads do not divide the model dimension {}", m.heads, m.d_model));
  bool head_missing = false;
  for (const Rule& rule : gpt2 ? gpt2_rules(m, !m.tie_embeddings) : bert_rules(m))
    head_missing = !add_source(rule, out.checkpoint, stored, out, vocab) || head_missing;
  for (const auto& [n, original] : stored.by_name)
    if (!stored.used.count(n))
      throw InputError(fmt::format("{}: tensor {}: unexpected for {} (no qkv parameter maps to it)", out.checkpoint->path(),
                                   original, out.architecture));
  if (head_missing) fresh_mlm_head(out, vocab);
  out.tokenizer = tokenizer_files(root, gpt2);
  return out;
}

namespace {

std::string experiment_yaml(const HfModel& hf, const std::string& dir, const std::string& run, const std::string& name) {
  const ModelConfig& m = hf.model;
  const bool gpt2 = hf.model_type == "gpt2";
  std::string y = fmt::format("# Imported by `qkv import hf` from {} ({}, model_type {}). Every verb reads this file;\n"
                              "# fine-tuning experiments name this run in init_from.\nname: {}\nseed: 1\nmodel:\n",
                              dir, hf.architecture, hf.model_type, name);
  y += fmt::format("  family: {}\n  layers: {}\n  d_model: {}\n  heads: {}\n  d_ff: {}\n", gpt2 ? "gpt" : "bert", m.layers,
                   m.d_model, m.heads, m.d_ff);
  y += fmt::format("  dropout: {}\n  attention_dropout: {}\n  embedding_dropout: {}\n", m.dropout, m.attention_dropout,
                   m.embedding_dropout);
  y += fmt::format("  norm: {}\n  activation: {}\n  norm_eps: {}\n  max_len: {}\n  tie_embeddings: {}\n", m.pre_norm ? "pre" : "post",
                   choice_name(activation_choices(), m.activation), m.norm_eps, m.max_len, m.tie_embeddings);
  if (!gpt2) y += fmt::format("  embed_norm: true\n  segments: {}\n  pooler: {}\n", m.segments, m.pooler);
  if (m.num_classes > 0) y += fmt::format("  num_classes: {}\n", m.num_classes);
  y += "  position: {scheme: learned}\n";
  if (gpt2) {
    y += "task: {kind: causal_lm}\n";
  } else if (m.num_classes > 0) {
    std::vector<std::string> labels;
    for (int64_t i = 0; i < m.num_classes; ++i) labels.push_back(fmt::format("LABEL_{}", i));
    y += fmt::format("task: {{kind: classify, labels: [{}]}}\n", fmt::join(labels, ", "));
    y += "data: {format: tsv, columns: {text: sentence, label: label}}  # a table of sentence and label columns\n";
  } else {
    y += fmt::format("task: {{kind: masked_lm{}}}\n", m.sentence_head ? ", sentence_objective: next" : "");
  }
  y += fmt::format("tokenizer: {{model: {}/tokenizer.model}}\n", run);
  y += fmt::format("train: {{seq_len: {}, batch_size: 8, steps: 1000, lr: 5.0e-5}}\noutput: {}\n", std::min<int64_t>(m.max_len, 1024), run);
  return y;
}

}  // namespace

std::vector<std::string> import_hf(const std::string& dir, const std::string& run, const std::string& name) {
  HfModel hf = read_hf(dir);
  const Tokenizer tokenizer = hf.tokenizer[0] == '{' ? Tokenizer::from_bytes(hf.tokenizer, dir + "/tokenizer")
                                                     : Tokenizer::load((fs::path(dir) / "tokenizer.model").string());
  const int64_t vocab = hf.tensors.front().shape.at(0);  // token_embedding.weight comes first
  if (tokenizer.vocab_size() > vocab)
    throw InputError(fmt::format("{}: the tokenizer has {} pieces, the embeddings {} rows", dir, tokenizer.vocab_size(), vocab));
  const fs::path out(run);
  if (fs::exists(out / "checkpoints")) throw InputError(fmt::format("{}: already holds checkpoints; import into a new directory", run));
  const std::string yaml = experiment_yaml(hf, dir, run, name);
  parse_experiment(yaml, (out / "config.yaml").string(), {}, ValidateOptions{false});  // reads back, before anything is written
  fs::create_directories(out);
  write_file_atomic((out / "tokenizer.model").string(), tokenizer.bytes());
  CheckpointStore(run, 1).save_tensors(
      0, hf.tensors, nullptr,
      nlohmann::json{{"step", 0}, {"imported_from", fs::absolute(dir).string()}, {"architecture", hf.architecture}},
      tokenizer.checksum());
  write_file_atomic((out / "config.yaml").string(), yaml);
  return hf.notes;
}

}  // namespace qkv::io
