// qkv info: the resolved experiment, parameter counts and FLOPs per token, without training.
#include <filesystem>

#include <fmt/format.h>

#include "transformer/analysis/estimates.h"
#include "transformer/cli/common.h"
#include "transformer/core/device.h"

namespace qkv::cli {

namespace {

int run_info(const Invocation& in) {
  const auto loaded = load(in);
  set_compute_device(torch::kCPU);  // counting parameters needs no GPU
  const Experiment& e = loaded.experiment;
  int64_t vocab = e.tokenizer.vocab_size;
  std::string vocab_source = "tokenizer.vocab_size";
  if (is_synthetic(e.task.kind)) {
    vocab = ensure_tokenizer(e, true).vocab_size();
    vocab_source = "the task's symbols";
  } else if (const std::string path = tokenizer_path(e); std::filesystem::exists(path)) {
    vocab = load_tokenizer(e, path).vocab_size();  // the experiment's, or its init_from run's
    vocab_source = path;
  }
  Model model = build_model(e, vocab);
  const auto count = count_parameters(model);
  const double flops = forward_flops_per_token(e.model, vocab, e.train.seq_len);
  fmt::print("{}", to_yaml(e));
  fmt::print("# vocabulary: {} (from {})\n", vocab, vocab_source);
  const PositionSchemeSpec& scheme = e.model.position.spec();
  fmt::print("# position scheme {}: {}; acts on: {}\n", scheme.name, scheme.summary, position_act_names(scheme.acts));
  for (const auto* options : {&position_common_options(), &scheme.options})
    for (const PositionOption& option : *options)
      fmt::print("#   {} = {} ({})\n", option.key, e.model.position.value(option.key), option.doc);
  fmt::print("# parameters: {} ({:.3f}M), {} without embeddings\n", count.total, double(count.total) / 1e6, count.non_embedding);
  fmt::print("# FLOPs per token at context {}: forward {:.3e}, training (3x) {:.3e}\n", e.train.seq_len, flops, 3 * flops);
  fmt::print("# FLOPs per training step: {:.3e}\n", 3 * flops * double(e.train.batch_size * e.train.seq_len));
  fmt::print("# modules:\n");
  for (const auto& p : model->named_parameters()) {
    fmt::print("#   {:<48} {}\n", p.key(), fmt::join(p.value().sizes().vec(), "x"));
  }
  return 0;
}

const bool registered = register_runner("info", run_info);

}  // namespace

}  // namespace qkv::cli
