// What the verbs share: loading the experiment with its overrides, the tokenizer, the model and
// the checkpoint a trained-model verb should use.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "transformer/cli/commands.h"
#include "transformer/config/experiment.h"
#include "transformer/models/model.h"
#include "transformer/text/tokenizer.h"

namespace qkv::cli {

// The experiment of a command line with its overrides, its data checked when the verb reads it
// (the command table's needs_data), and the compute device set from train.device.
LoadedExperiment load(const Invocation& in);
// init_from: hf:DIR -> a qkv run imported from the Hugging Face directory DIR, once, into the
// cache beside data.cache's corpora (data/cache/hf/NAME-KEY), which init_from then names.
void resolve_hf_init(Experiment& experiment, bool quiet);
// Prepares (when missing) the token shards of every split of a language-modelling corpus, so that
// ranks and later steps only open them.
void prepare_corpora(const Experiment& experiment, const Tokenizer& tokenizer);
// The experiment's tokenizer file: tokenizer.model, else init_from's.
std::string tokenizer_path(const Experiment& experiment);
// The tokenizer at `path`: the experiment's tokenizer.kind when it is tokenizer.model, else by its contents.
Tokenizer load_tokenizer(const Experiment& experiment, const std::string& path);
// The experiment's tokenizer, trained on data.train first when its model file is missing.
Tokenizer ensure_tokenizer(const Experiment& experiment, bool quiet);
// The tokenizer a run was trained with (runs/NAME/tokenizer.model), else the experiment's.
Tokenizer run_tokenizer(const Experiment& experiment);
// Seeded model construction, so a given seed gives the same initial weights.
Model build_model(const Experiment& experiment, int64_t vocab_size);
// Same, sized by the tokenizer (and its separate target side, for translation).
Model build_model(const Experiment& experiment, const Tokenizer& tokenizer);
// Runs scripts/NAME (beside the build directory of this program) with Debian's python3 and the
// given arguments, output discarded; false when the script or its modules are missing or it fails.
bool run_python_script(const std::string& name, const std::vector<std::string>& args);
// Median of measurements (NaN when there are none).
double median(std::vector<double> values);
// A trained run, opened for use: its tokenizer, its model in eval mode with the weights loaded, and
// what was loaded.
struct TrainedModel {
  Tokenizer tokenizer;
  Model model{nullptr};
  nlohmann::json state;    // the trainer state saved with the weights
  int64_t step = 0;
  std::string checkpoint;  // the directory loaded, or "average of A, B, ..."
};

// The one way every verb that uses a trained model opens it. The weights: --checkpoint (a
// directory, or best: the best by train.select_metric), else the average of the newest
// train.average_last checkpoints when that is above 1, else the newest complete checkpoint; the
// tokenizer: the run's own. InputError when there is no such checkpoint.
TrainedModel open_trained_model(const Experiment& experiment, const std::string& checkpoint_arg);

// Token ids of a text as the model saw text in training: a line start for gpt, [CLS] .. [SEP] for
// bert, the source followed by eos for the encoder-decoders; bos first for the generated tasks' gpt inputs.
std::vector<int64_t> model_input(const Experiment& e, const Tokenizer& tokenizer, const std::string& text);

}  // namespace qkv::cli
