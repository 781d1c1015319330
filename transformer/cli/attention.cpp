// qkv attention: what a trained model attends to. With --text, the attention probabilities of
// every layer and head over that text (CSV matrices and PNG heatmaps) and, for t5 and alibi, the
// position bias of each head; with --mass, attention mass against relative distance averaged over
// a split of the data, at one or more context lengths.
#include <filesystem>

#include <fmt/format.h>

#include "transformer/analysis/attention_stats.h"
#include "transformer/cli/common.h"
#include "transformer/core/device.h"
#include "transformer/util/errors.h"
#include "transformer/tasks/causal_lm.h"
#include "transformer/train/precision.h"
#include "transformer/util/atomic_file.h"

namespace qkv::cli {

namespace fs = std::filesystem;

namespace {

std::string matrix_csv(const torch::Tensor& m) {  // (R, C) -> rows of comma-separated values
  const auto a = m.to(torch::kFloat64).contiguous();
  const auto* p = a.data_ptr<double>();
  std::string out;
  for (int64_t i = 0; i < a.size(0); ++i) {
    for (int64_t j = 0; j < a.size(1); ++j) out += fmt::format("{}{:.6g}", j ? "," : "", p[i * a.size(1) + j]);
    out += "\n";
  }
  return out;
}

void write_maps(const Experiment& e, const std::string& text, Model& model, const Tokenizer& tokenizer,
                const fs::path& out) {
  const auto ids = model_input(e, tokenizer, text);
  const int64_t limit = model->max_positions();
  if (limit >= 0 && int64_t(ids.size()) > limit) {
    throw InputError(fmt::format("--text: {} tokens exceed the model's {} positions (model.max_len)", ids.size(), limit));
  }
  const auto tokens = torch::tensor(ids, torch::kLong).unsqueeze(0);  // (1, T)
  std::vector<torch::Tensor> weights;                                  // per layer (1, H, T, T)
  if (e.model.family == Family::kSeq2Seq) {
    model->encode(tokens, {}, nullptr, &weights);
  } else {
    model->hidden(tokens, {}, {}, nullptr, &weights);
  }
  std::string pieces;
  for (int64_t id : ids) pieces += tokenizer.piece(int(id)) + "\n";
  write_file_atomic((out / "tokens.txt").string(), pieces);
  for (size_t layer = 0; layer < weights.size(); ++layer)
    for (int64_t h = 0; h < weights[layer].size(1); ++h)
      write_file_atomic((out / fmt::format("L{}-H{}.csv", layer + 1, h + 1)).string(), matrix_csv(weights[layer][0][h]));
  // Schemes that bias the scores by position alone: the bias each head adds, query rows by key columns.
  Stack stack = e.model.family == Family::kGpt ? model->decoder() : model->encoder();
  const int64_t t = tokens.size(1);
  const auto bias = stack->position()->signals(t, 0, t, 0, torch::kCPU).score_bias;  // (1, H, T, T)
  if (bias.defined()) {
    for (int64_t h = 0; h < bias.size(1); ++h)
      write_file_atomic((out / fmt::format("bias-H{}.csv", h + 1)).string(), matrix_csv(bias[0][h]));
  }
  fmt::print("{}: {} tokens, {} layers x {} heads -> {}\n", e.name, ids.size(), weights.size(),
             weights.empty() ? 0 : weights[0].size(1), out.string());
}

void write_mass(const Experiment& e, const Invocation& in, Model& model, const Tokenizer& tokenizer,
                const fs::path& out) {
  if (e.task.kind != TaskKind::kCausalLm) throw InputError(fmt::format("{}: --mass applies to causal_lm experiments", e.source_file));
  CausalLmTask task(e);
  prepare_corpora(e, tokenizer);  // with --rebuild-data: encoded again first
  task.prepare(e, tokenizer, /*need_train=*/false);
  const std::string split_name = in.text("--split", "valid");
  const Split split = split_name == "test" ? Split::kTest : Split::kValid;
  if (!task.has_split(split)) throw InputError(fmt::format("{}: data.{}: not set in this experiment", e.source_file, split_name));
  std::vector<int64_t> lengths = in.integers("--lengths");
  if (lengths.empty()) lengths = {e.train.seq_len};
  const int64_t limit = model->max_positions();
  const bool causal = e.model.family != Family::kBert;
  std::string csv = "length,layer,distance,mass\n";
  for (const int64_t length : lengths) {
    if (length < 2) throw InputError(fmt::format("--lengths: expected lengths of at least 2, found {}", length));
    if (limit >= 0 && length > limit) {
      fmt::print(stderr, "length {}: not applicable, {} positions cover {} (model.max_len)\n", length,
                 e.model.position.scheme, limit);
      continue;
    }
    // About 16k tokens per length, in batches of about 4k.
    const auto blocks = task.split_blocks(split, length, std::max<int64_t>(1, 16384 / length));
    const int64_t batch = std::max<int64_t>(1, 4096 / length);
    std::vector<torch::Tensor> sums;  // per layer, mass summed over batches weighted by rows
    for (int64_t first = 0; first < blocks.size(0); first += batch) {
      const int64_t rows = std::min(batch, blocks.size(0) - first);
      std::vector<torch::Tensor> weights;
      model->hidden(blocks.narrow(0, first, rows).narrow(1, 0, length), {}, {}, nullptr, &weights);
      for (size_t layer = 0; layer < weights.size(); ++layer) {
        auto m = attention_mass_by_distance(weights[layer]) * double(rows);
        if (sums.size() <= layer) sums.push_back(m);
        else sums[layer] += m;
      }
    }
    const int64_t n = blocks.size(0);
    auto all = torch::zeros({2 * length - 1}, torch::kFloat64);
    for (const auto& s : sums) all += s / double(n) / double(sums.size());
    auto emit = [&](const std::string& layer, const torch::Tensor& mass) {
      const auto* p = mass.data_ptr<double>();
      for (int64_t d = causal ? 0 : -(length - 1); d <= length - 1; ++d)
        csv += fmt::format("{},{},{},{:.6g}\n", length, layer, d, p[d + length - 1]);
    };
    emit("all", all);
    for (size_t layer = 0; layer < sums.size(); ++layer) emit(std::to_string(layer + 1), (sums[layer] / double(n)).contiguous());
  }
  write_file_atomic((out / "attention_mass.csv").string(), csv);
  fmt::print("{}\n", (out / "attention_mass.csv").string());
}

int run_attention(const Invocation& in) {
  const bool text = in.has("--text"), mass = in.flag("--mass");
  const std::string split = in.text("--split", "valid");
  if (!text && !mass) throw InputError("qkv attention: give --text \"...\" (attention maps) or --mass (mass by distance)");
  if (split != "valid" && split != "test") throw InputError(fmt::format("--split: expected valid or test, found '{}'", split));
  const auto loaded = load(in);
  set_compute_device(torch::kCPU);  // maps of one text: read on the CPU, where they are written out
  const Experiment& e = loaded.experiment;
  if (e.model.family == Family::kRnn) {
    throw InputError(fmt::format("{}: model.family: rnn has additive attention but no attention heads to map", e.source_file));
  }
  set_threads(e.train.threads);
  TrainedModel trained = open_trained_model(e, in.text("--checkpoint"));
  torch::NoGradGuard no_grad;  // float32 throughout: diagnostics, not speed
  const fs::path out = in.has("--out") ? fs::path(in.text("--out")) : fs::path(e.output) / "attention";
  fs::create_directories(out);
  if (text) write_maps(e, in.text("--text"), trained.model, trained.tokenizer, out);
  if (mass) write_mass(e, in, trained.model, trained.tokenizer, out);
  if (!in.flag("--no-plots") && !run_python_script("plot_attention.py", {out.string()})) {
    fmt::print(stderr, "plots skipped: scripts/plot_attention.py needs python3-matplotlib (scripts/setup.sh installs it)\n");
  }
  return 0;
}

const bool registered = register_runner("attention", run_attention);

}  // namespace

}  // namespace qkv::cli
