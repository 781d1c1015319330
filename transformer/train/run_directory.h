// The run directory of an experiment (runs/NAME): refusing to start over a trained run, and the
// resolved configuration and tokenizers a run keeps.
#pragma once

#include <string>

#include "transformer/config/config.h"
#include "transformer/text/tokenizer.h"

namespace qkv {

// Refuses to start a fresh run over a run directory that holds checkpoints (unless resuming).
void check_run_directory(const Experiment& experiment, bool resume);
// Creates the run directory (config.yaml, tokenizer.model) once the inputs have been checked.
void prepare_run_directory(const Experiment& experiment, const std::string& config_yaml, const Tokenizer& tokenizer,
                           bool resume);

}  // namespace qkv
