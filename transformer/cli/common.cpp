// Shared verb plumbing.
#include "transformer/cli/common.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>

#include "transformer/errors.h"
#include "transformer/tasks/synthetic.h"
#include "transformer/train/checkpoint.h"

namespace qkv::cli {

namespace fs = std::filesystem;

LoadedExperiment load(const CommonArgs& args, bool require_data) {
  ValidateOptions options;
  options.require_data = require_data;
  return load_experiment(args.experiment, args.sets, options);
}

Tokenizer ensure_tokenizer(const Experiment& e, bool quiet) {
  if (is_synthetic(e.task.kind)) return Tokenizer::symbols(SyntheticTask::alphabet(e.task));
  if (!fs::exists(e.tokenizer.model)) {
    if (!quiet) fmt::print(stderr, "training a {}-piece tokenizer on {} -> {}\n", e.tokenizer.vocab_size, e.data.train, e.tokenizer.model);
    Tokenizer::train(e.data.train, e.tokenizer.model, e.tokenizer, uint64_t(e.seed));
  }
  return Tokenizer::load(e.tokenizer.model);
}

Tokenizer run_tokenizer(const Experiment& e) {
  if (is_synthetic(e.task.kind)) return Tokenizer::symbols(SyntheticTask::alphabet(e.task));
  const fs::path in_run = fs::path(e.output) / "tokenizer.model";
  return Tokenizer::load(fs::exists(in_run) ? in_run.string() : e.tokenizer.model);
}

TransformerModel build_model(const Experiment& e, int64_t vocab_size) {
  torch::manual_seed(uint64_t(e.seed));
  return make_model(e.model, vocab_size, uint64_t(e.seed));
}

bool run_python_script(const std::string& name, const std::vector<std::string>& args) {
  std::error_code ec;
  const fs::path script = fs::read_symlink("/proc/self/exe", ec).parent_path().parent_path() / "scripts" / name;
  if (ec || !fs::exists(script)) return false;
  auto quote = [](const std::string& s) {
    std::string q = "'";
    for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return q + "'";
  };
  std::string command = "/usr/bin/python3 " + quote(script.string());
  for (const auto& a : args) command += " " + quote(a);
  command += " >/dev/null";
  return std::system(command.c_str()) == 0;
}

double median(std::vector<double> v) {
  if (v.empty()) return std::nan("");
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

std::string find_checkpoint(const Experiment& e, const std::string& explicit_path) {
  if (!explicit_path.empty()) {
    if (!fs::is_directory(explicit_path)) throw InputError(fmt::format("{}: --checkpoint: no such checkpoint directory", explicit_path));
    return explicit_path;
  }
  CheckpointStore store(e.output, e.train.keep_checkpoints);
  std::vector<std::string> skipped;
  auto newest = store.newest_valid(&skipped);
  for (const auto& s : skipped) fmt::print(stderr, "skipping checkpoint {}\n", s);
  if (!newest) throw InputError(fmt::format("{}: no complete checkpoint in {} (run qkv train first)", e.source_file, e.output));
  return *newest;
}

}  // namespace qkv::cli
