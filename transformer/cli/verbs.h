// The qkv verbs, one file each; main.cpp parses the command line into these structs.
#pragma once

#include <string>
#include <vector>

#include "transformer/cli/common.h"

namespace qkv::cli {

struct TrainArgs {
  CommonArgs common;
  bool resume = false;
  int64_t stop_at = -1;
  bool quiet = false;
  int64_t nproc = 1;  // > 1: start this many local data-parallel workers
  std::vector<std::string> argv;  // the verb's own arguments, for the workers
};
int run_train(const TrainArgs& args);
// Starts nproc workers running `qkv ARGS...` as one data-parallel group; their exit code.
int launch_workers(int64_t nproc, const std::vector<std::string>& worker_args);

struct EvalArgs {
  CommonArgs common;
  std::string checkpoint;
  std::string split = "valid";
  std::vector<int64_t> lengths;  // context lengths to evaluate at (length extrapolation)
};
int run_eval(const EvalArgs& args);

struct GenerateArgs {
  CommonArgs common;
  std::string checkpoint;
  std::string prompt;
  bool has_prompt = false;
  int64_t max_new_tokens = -1;  // -1: generate.max_new_tokens
  double temperature = -1;      // -1: generate.temperature
  int64_t top_k = -1;
  double top_p = -1;
  int64_t seed = -1;
  bool greedy = false;
  bool no_cache = false;
};
int run_generate(const GenerateArgs& args);

struct BenchArgs {
  CommonArgs common;
  int64_t synthetic_vocab = 0;  // > 0: random tokens from this vocabulary, no data or tokenizer
  int64_t steps = 10;           // timed steps
  int64_t warmup = 3;           // untimed steps first
  int64_t generate = 0;         // > 0: also time generating this many tokens, with and without the cache
  std::string profile;          // non-empty: write a Chrome trace of the timed steps here
};
int run_bench(const BenchArgs& args);

struct SweepArgs {
  CommonArgs common;
};
int run_sweep(const SweepArgs& args);

struct AttentionArgs {
  CommonArgs common;
  std::string checkpoint;
  std::string text;
  bool has_text = false;
  bool mass = false;             // attention mass against relative distance over a split
  std::vector<int64_t> lengths;  // context lengths for --mass; empty: train.seq_len
  std::string split = "valid";
  std::string out;               // empty: runs/NAME/attention
  bool no_plots = false;
};
int run_attention(const AttentionArgs& args);

struct PredictArgs {
  CommonArgs common;
  std::string checkpoint;
  std::string input;   // empty: data.test, else data.valid
  std::string output;  // empty: standard output
};
int run_predict(const PredictArgs& args);

struct TranslateArgs {
  CommonArgs common;
  std::string checkpoint;
  std::string input;   // empty or "-": standard input
  std::string output;  // empty: standard output
  int64_t beam = 0;    // 0: task.beam
  bool greedy = false;
  bool no_cache = false;
};
int run_translate(const TranslateArgs& args);

struct ScoreArgs {
  std::string hypotheses, references;
};
int run_score(const ScoreArgs& args);

struct InfoArgs {
  CommonArgs common;
};
int run_info(const InfoArgs& args);

}  // namespace qkv::cli
