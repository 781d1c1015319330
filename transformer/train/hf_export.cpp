// A gpt or bert run written as a Hugging Face GPT-2 or BERT directory: the same tables as the
// import, read the other way.
#include <filesystem>

#include "transformer/config/experiment.h"
#include "transformer/text/byte_bpe.h"
#include "transformer/text/tokenizer.h"
#include "transformer/text/wordpiece.h"
#include "transformer/train/checkpoint.h"
#include "transformer/train/hf_model.h"
#include "transformer/train/hf_tables.h"
#include "transformer/util/atomic_file.h"

namespace qkv::io {

namespace fs = std::filesystem;
using namespace hf;

std::string hf_export_obstacle(const ModelConfig& m) {
  if (m.family != Family::kGpt && m.family != Family::kBert)
    return fmt::format("model.family: {} (GPT-2 is gpt, BERT is bert)", choice_name(family_choices(), m.family));
  const bool gpt = m.family == Family::kGpt;
  if (m.position.scheme != "learned")
    return fmt::format("model.position.scheme: {} (GPT-2 and BERT learn a position table: learned)", m.position.scheme);
  if (m.pre_norm != gpt)
    return fmt::format("model.norm: {} ({} is {}-norm)", m.pre_norm ? "pre" : "post", gpt ? "GPT-2" : "BERT", gpt ? "pre" : "post");
  if (m.norm_type != NormKind::kLayerNorm) return "model.norm_type: rmsnorm (GPT-2 and BERT use layernorm)";
  if (m.activation == Activation::kSwiglu) return "model.activation: swiglu (GPT-2 and BERT have gelu, gelu_tanh or relu)";
  if (!m.bias) return "model.bias: false (GPT-2 and BERT have biases)";
  if (m.scale_embeddings) return "model.scale_embeddings: true (neither scales its embeddings)";
  if (m.embed_norm == gpt) return fmt::format("model.embed_norm: {} (BERT has the embedding norm, GPT-2 not)", m.embed_norm);
  if (!gpt && !m.tie_embeddings) return "model.tie_embeddings: false (BERT's MLM decoder is tied to its embeddings)";
  return "";
}

namespace {

// The run's tensors under Hugging Face's names (GPT2LMHeadModel's and BertFor*'s), made as written.
std::vector<TensorSource> hf_tensors(const ModelConfig& m, const std::shared_ptr<SafetensorsFile>& file) {
  const bool gpt = m.family == Family::kGpt;
  const std::string prefix = gpt ? "transformer." : "bert.";
  std::vector<TensorSource> out;
  for (const Rule& rule : gpt ? gpt2_rules(m, !m.tie_embeddings) : bert_rules(m)) {
    if (!file->contains(rule.qkv)) {
      if (rule.optional) continue;
      throw InputError(fmt::format("{}: tensor {}: missing", file->path(), rule.qkv));
    }
    const TensorEntry& e = file->entry(rule.qkv);
    const bool head = rule.hf[0].rfind("cls.", 0) == 0 || rule.hf[0].rfind("classifier.", 0) == 0 || rule.hf[0] == "lm_head.weight";
    for (size_t k = 0; k < rule.hf.size(); ++k) {
      std::vector<int64_t> shape = e.shape;
      if (rule.op == Op::kTranspose) std::swap(shape[0], shape[1]);
      if (rule.op == Op::kConcat) shape[0] /= int64_t(rule.hf.size());
      const std::string name = rule.qkv;
      const Op op = rule.op;
      const int64_t rows = shape[0];
      const bool last = k + 1 == rule.hf.size();
      out.push_back(TensorSource{(head ? "" : prefix) + rule.hf[k], e.dtype, shape,
                                 [file, name, op, k, rows]() -> torch::Tensor {
                                   const torch::Tensor t = file->get(name);
                                   if (op == Op::kTranspose) return t.t();
                                   if (op == Op::kConcat) return t.narrow(0, int64_t(k) * rows, rows);
                                   return t;
                                 },
                                 [file, name, last] {  // its pages back once written
                                   if (last) file->release(name);
                                 }});
    }
  }
  return out;
}

nlohmann::ordered_json gpt2_config(const ModelConfig& m, int64_t vocab, const SpecialTokens& s) {
  return {{"architectures", {"GPT2LMHeadModel"}},
          {"model_type", "gpt2"},
          {"vocab_size", vocab},
          {"n_positions", m.max_len},
          {"n_ctx", m.max_len},
          {"n_embd", m.d_model},
          {"n_layer", m.layers},
          {"n_head", m.heads},
          {"n_inner", m.d_ff},
          {"activation_function", activation_name(m.activation)},
          {"resid_pdrop", m.dropout},
          {"embd_pdrop", m.embedding_dropout < 0 ? m.dropout : m.embedding_dropout},
          {"attn_pdrop", m.attention_dropout < 0 ? m.dropout : m.attention_dropout},
          {"layer_norm_epsilon", m.norm_eps},
          {"initializer_range", 0.02},
          {"scale_attn_weights", true},
          {"tie_word_embeddings", m.tie_embeddings},
          {"bos_token_id", s.bos},
          {"eos_token_id", s.eos}};
}

nlohmann::ordered_json bert_config(const ModelConfig& m, int64_t vocab, const SpecialTokens& s) {
  const char* arch = m.num_classes > 0 ? "BertForSequenceClassification" : m.sentence_head ? "BertForPreTraining" : "BertForMaskedLM";
  nlohmann::ordered_json config = {{"architectures", {arch}},
                                   {"model_type", "bert"},
                                   {"vocab_size", vocab},
                                   {"hidden_size", m.d_model},
                                   {"num_hidden_layers", m.layers},
                                   {"num_attention_heads", m.heads},
                                   {"intermediate_size", m.d_ff},
                                   {"hidden_act", activation_name(m.activation)},
                                   {"hidden_dropout_prob", m.dropout},
                                   {"attention_probs_dropout_prob", m.attention_dropout < 0 ? m.dropout : m.attention_dropout},
                                   {"max_position_embeddings", m.max_len},
                                   {"type_vocab_size", m.segments},
                                   {"initializer_range", 0.02},
                                   {"layer_norm_eps", m.norm_eps},
                                   {"pad_token_id", s.pad},
                                   {"position_embedding_type", "absolute"}};
  if (m.num_classes > 0) config["num_labels"] = m.num_classes;
  return config;
}

void write_tokenizer(const Tokenizer& tokenizer, const fs::path& dir) {
  if (const ByteLevelBpe* bpe = tokenizer.bpe()) {
    write_file_atomic((dir / "vocab.json").string(), bpe->vocab_text());
    write_file_atomic((dir / "merges.txt").string(), bpe->merges_text());
  } else if (const WordPiece* wp = tokenizer.wordpiece()) {
    write_file_atomic((dir / "vocab.txt").string(), wp->vocab_text());
    write_file_atomic((dir / "tokenizer_config.json").string(),
                      nlohmann::ordered_json{{"do_lower_case", wp->options().lower_case}}.dump(2) + "\n");
  } else {
    // a SentencePiece model trained by qkv: Hugging Face's GPT-2 and BERT tokenizers cannot read
    // it; qkv's import can
    write_file_atomic((dir / "tokenizer.model").string(), tokenizer.bytes());
  }
}

}  // namespace

void export_hf(const std::string& run, const std::string& dir) {
  const fs::path root(run);
  const std::string config_file = (root / "config.yaml").string();
  if (!fs::exists(config_file)) throw InputError(fmt::format("{}: not a run directory (no config.yaml)", run));
  const LoadedExperiment loaded = load_experiment(config_file, {}, ValidateOptions{false});
  const ModelConfig& m = loaded.experiment.model;
  if (const std::string why = hf_export_obstacle(m); !why.empty())
    throw InputError(fmt::format("{}: cannot be written as GPT-2 or BERT: {}", config_file, why));
  const auto checkpoint = CheckpointStore(run, 1).newest_valid();
  if (!checkpoint) throw InputError(fmt::format("{}: holds no complete checkpoint", run));
  const std::string weights = (fs::path(*checkpoint) / "model.safetensors").string();
  if (!fs::exists(weights))
    throw InputError(fmt::format("{}: holds model.pt of an older qkv; resume the run once to write model.safetensors", *checkpoint));
  const auto file = std::make_shared<SafetensorsFile>(weights);
  const Tokenizer tokenizer = Tokenizer::load((root / "tokenizer.model").string());
  const int64_t vocab = file->entry("token_embedding.weight").shape.at(0);
  const std::vector<TensorSource> tensors = hf_tensors(m, file);
  const auto config = m.family == Family::kGpt ? gpt2_config(m, vocab, tokenizer.special()) : bert_config(m, vocab, tokenizer.special());
  fs::create_directories(dir);
  write_safetensors((fs::path(dir) / "model.safetensors").string(), tensors, {{"format", "pt"}});
  write_file_atomic((fs::path(dir) / "config.json").string(), config.dump(2) + "\n");
  write_tokenizer(tokenizer, dir);
}

}  // namespace qkv::io
