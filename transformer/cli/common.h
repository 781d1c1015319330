// What the verbs share: loading the experiment with its overrides, the tokenizer, the model and
// the checkpoint a trained-model verb should use.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "transformer/config/experiment.h"
#include "transformer/models/model.h"
#include "transformer/text/tokenizer.h"

namespace qkv::cli {

struct CommonArgs {
  std::string experiment;
  std::vector<std::string> sets;  // --set dotted.key=value
};

LoadedExperiment load(const CommonArgs& args, bool require_data);
// The experiment's tokenizer file: tokenizer.model, else init_from's.
std::string tokenizer_path(const Experiment& experiment);
// The experiment's tokenizer, trained on data.train first when its model file is missing.
Tokenizer ensure_tokenizer(const Experiment& experiment, bool quiet);
// The tokenizer a run was trained with (runs/NAME/tokenizer.model), else the experiment's.
Tokenizer run_tokenizer(const Experiment& experiment);
// Seeded model construction, so a given seed gives the same initial weights.
TransformerModel build_model(const Experiment& experiment, int64_t vocab_size);
// Same, sized by the tokenizer (and its separate target side, for translation).
TransformerModel build_model(const Experiment& experiment, const Tokenizer& tokenizer);
// Runs scripts/NAME (beside the build directory of this program) with Debian's python3 and the
// given arguments, output discarded; false when the script or its modules are missing or it fails.
bool run_python_script(const std::string& name, const std::vector<std::string>& args);
// Median of measurements (NaN when there are none).
double median(std::vector<double> values);
// --checkpoint PATH, "best" (the run's best checkpoint), else the newest valid checkpoint of the
// run; InputError when there is none.
std::string find_checkpoint(const Experiment& experiment, const std::string& explicit_path);

// Loads the weights a trained-model verb uses: --checkpoint (a directory, or best), else the
// average of the newest train.average_last checkpoints when that is set, else the newest. Returns
// the trainer state; *used names what was loaded.
nlohmann::json load_weights(const Experiment& experiment, const std::string& checkpoint_arg, TransformerModel& model,
                            const Tokenizer& tokenizer, std::string* used);

}  // namespace qkv::cli
