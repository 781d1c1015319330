// Hugging Face GPT-2 and BERT in and out. Tiny models with random weights are written in Hugging
// Face's layout; a reference forward pass written plainly from the published architectures
// (Radford et al. 2019; Devlin et al. 2019), reading those tensors by their Hugging Face names,
// gives the logits qkv's imported model must reproduce to 1e-5 in float32, with padding, and the
// greedy tokens qkv's cached generation must reproduce. Export then import gives the same bytes.
#include <catch2/catch.hpp>

#include "hf_fixtures.h"

using namespace hf_test;

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
