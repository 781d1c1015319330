// The experiment file as typed structs, one per YAML section, each listing its fields once in
// visit() so that reading, validation messages, --set overrides and writing share one list.
#pragma once

#include <cstdint>
#include <string>

#include "transformer/config/choices.h"
#include "transformer/config/data_config.h"
#include "transformer/config/model_config.h"
#include "transformer/config/task_config.h"
#include "transformer/config/train_config.h"

namespace qkv {

struct Experiment {
  std::string name;
  int64_t seed = 1;
  ModelConfig model;
  TaskConfig task;
  DataConfig data;
  TokenizerConfig tokenizer;
  TrainConfig train;
  GenerateConfig generate;
  SweepConfig sweep;   // used by qkv sweep only
  std::string init_from;  // a run whose newest checkpoint initialises the shared parts (fine-tuning)
  std::string output;  // run directory; default runs/NAME

  template <class V>
  void visit(V& v) {
    v.field("name", name, Spec().need());
    v.field("seed", seed, Spec().range(0, 1e18));
    v.section("model", model, Spec().need());
    v.section("task", task, Spec().need());
    v.section("data", data, Spec().doc("required by text tasks"));
    v.section("tokenizer", tokenizer, Spec().doc("required by text tasks"));
    v.section("train", train, Spec().need());
    v.section("generate", generate, Spec());
    v.section("sweep", sweep, Spec());
    v.path("init_from", init_from, Spec().doc("run directory whose newest checkpoint initialises the model"));
    v.path("output", output, Spec().doc("run directory, default runs/NAME"));
  }

  // Where the experiment file was read from, for messages and relative paths.
  std::string source_file;
};

}  // namespace qkv
