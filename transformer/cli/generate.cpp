// qkv generate: a continuation of --prompt, or of each line read from standard input, from the
// newest checkpoint, with the KV cache.
#include <unistd.h>

#include <iostream>

#include <fmt/format.h>

#include "transformer/cli/common.h"
#include "transformer/infer/generate.h"
#include "transformer/train/precision.h"

namespace qkv::cli {

namespace {

int run_generate(const Invocation& in) {
  const auto loaded = load(in);
  const Experiment& e = loaded.experiment;
  set_threads(e.train.threads);
  TrainedModel trained = open_trained_model(e, in.text("--checkpoint"));
  const Tokenizer& tokenizer = trained.tokenizer;
  Model& model = trained.model;

  const GenerateConfig& g = e.generate;
  GenerateOptions options;
  options.max_new_tokens = in.integer("--max-new-tokens", g.max_new_tokens);
  options.sampling.temperature = in.flag("--greedy") ? 0.0 : in.number("--temperature", g.temperature);
  options.sampling.top_k = in.integer("--top-k", g.top_k);
  options.sampling.top_p = in.number("--top-p", g.top_p);
  options.sampling.repetition_penalty = in.number("--repetition-penalty", g.repetition_penalty);
  options.stop_token = tokenizer.special().eos;
  options.use_cache = !in.flag("--no-cache");
  const int64_t seed = in.integer("--seed", g.seed > 0 ? g.seed : e.seed);
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

  if (in.has("--prompt")) {
    continue_text(in.text("--prompt"));
  } else {
    bool any = false;
    if (!isatty(STDIN_FILENO)) {
      for (std::string line; std::getline(std::cin, line); any = true) continue_text(line);
    }
    if (!any) continue_text(g.prompt);  // no prompt given: the experiment's generate.prompt
  }
  return 0;
}

const bool registered = register_runner("generate", run_generate);

}  // namespace

}  // namespace qkv::cli
