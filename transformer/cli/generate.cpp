// qkv generate: a continuation of --prompt, or of each line read from standard input, from the
// newest checkpoint, with the KV cache.
#include <unistd.h>

#include <iostream>

#include <fmt/format.h>

#include "transformer/cli/verbs.h"
#include "transformer/infer/generate.h"
#include "transformer/train/checkpoint.h"
#include "transformer/train/precision.h"

namespace qkv::cli {

int run_generate(const GenerateArgs& args) {
  const auto loaded = load(args.common, /*require_data=*/false);
  const Experiment& e = loaded.experiment;
  set_threads(e.train.threads);
  const std::string checkpoint = find_checkpoint(e, args.checkpoint);
  Tokenizer tokenizer = run_tokenizer(e);
  TransformerModel model = build_model(e, tokenizer);
  load_checkpoint(checkpoint, model, nullptr, tokenizer.checksum());
  model->eval();

  const GenerateConfig& g = e.generate;
  GenerateOptions options;
  options.max_new_tokens = args.max_new_tokens > 0 ? args.max_new_tokens : g.max_new_tokens;
  options.sampling.temperature = args.greedy ? 0.0 : (args.temperature >= 0 ? args.temperature : g.temperature);
  options.sampling.top_k = args.top_k >= 0 ? args.top_k : g.top_k;
  options.sampling.top_p = args.top_p >= 0 ? args.top_p : g.top_p;
  options.stop_token = tokenizer.special().eos;
  options.use_cache = !args.no_cache;
  const int64_t seed = args.seed >= 0 ? args.seed : (g.seed > 0 ? g.seed : e.seed);
  auto generator = at::detail::createCPUGenerator(uint64_t(seed));

  auto continue_text = [&](const std::string& prompt) {
    // Training text is a stream of lines each ended by eos, so eos starts a fresh line.
    std::vector<int64_t> ids{tokenizer.special().eos};
    for (int id : tokenizer.encode(prompt)) ids.push_back(id);
    AutocastScope autocast(e.train.precision);
    auto fresh = generate(model, ids, options, generator);
    if (!fresh.empty() && fresh.back() == tokenizer.special().eos) fresh.pop_back();
    const std::string continuation = tokenizer.decode(std::vector<int>(fresh.begin(), fresh.end()));
    fmt::print("{}{}{}\n", prompt, prompt.empty() || continuation.empty() ? "" : " ", continuation);
    std::fflush(stdout);
  };

  if (args.has_prompt) {
    continue_text(args.prompt);
  } else {
    bool any = false;
    if (!isatty(STDIN_FILENO)) {
      for (std::string line; std::getline(std::cin, line); any = true) continue_text(line);
    }
    if (!any) continue_text(g.prompt);  // no prompt given: the experiment's generate.prompt
  }
  return 0;
}

}  // namespace qkv::cli
