// qkv: the command users run. It reads and checks the experiment file of a verb itself, without
// loading LibTorch, so that a bad file stops at once (a fraction of a second, a few megabytes)
// with its one-line error and exit code 2; everything else, and every good file, goes to
// qkv-engine (the verbs, in cli/main.cpp) beside it, with the same arguments.
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "transformer/config/experiment.h"
#include "transformer/util/errors.h"

namespace {

// Options of the verbs that take a value as the next argument (see cli/main.cpp).
const std::set<std::string> kValued{"--set", "--checkpoint", "--prompt", "-n", "--max-new-tokens", "--temperature",
                                    "--top-k", "--top-p", "--seed", "--split", "--lengths", "--stop-at", "--nproc",
                                    "--synthetic", "--steps", "--warmup", "--generate", "--text", "--out", "--input",
                                    "--output", "--beam", "--hyp", "--ref", "--profile"};
const std::set<std::string> kVerbs{"train", "eval", "generate", "bench", "sweep", "attention", "predict", "translate", "info"};

// Checks the experiment of `qkv VERB EXPERIMENT ...` as the engine will; returns the exit code
// when it is bad, -1 to go on.
int check_experiment(int argc, char** argv) {
  if (argc < 3 || !kVerbs.count(argv[1])) return -1;
  const std::string verb = argv[1];
  std::string experiment;
  std::vector<std::string> sets;
  bool synthetic = false, mass = false, help = false;
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") help = true;
    if (arg == "--mass") mass = true;
    if (arg.rfind("--synthetic", 0) == 0) synthetic = true;
    if (arg.rfind("--set=", 0) == 0) sets.push_back(arg.substr(6));
    if (kValued.count(arg)) {
      if (arg == "--set" && i + 1 < argc) sets.push_back(argv[i + 1]);
      ++i;
      continue;
    }
    if (arg.empty() || arg[0] == '-') continue;
    if (!experiment.empty()) return -1;  // two positionals: leave the message to the engine
    experiment = arg;
  }
  if (help || experiment.empty() || !std::filesystem::is_regular_file(experiment)) return -1;
  qkv::ValidateOptions options;
  options.require_data = verb == "train" || verb == "eval" || verb == "sweep" || (verb == "bench" && !synthetic) ||
                         (verb == "attention" && mass);
  try {
    qkv::load_experiment(experiment, sets, options);
  } catch (const qkv::InputError& e) {
    fmt::print(stderr, "qkv: error: {}\n", e.what());
    return 2;
  } catch (const std::exception&) {
    return -1;  // anything unexpected: the engine reports it
  }
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  if (const int code = check_experiment(argc, argv); code >= 0) return code;
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  const std::string engine = ((ec ? std::filesystem::path(argv[0]) : self).parent_path() / "qkv-engine").string();
  std::vector<char*> args(argv, argv + argc);
  args.push_back(nullptr);
  ::execv(engine.c_str(), args.data());
  fmt::print(stderr, "qkv: failed: cannot run {}: {}\n", engine, std::strerror(errno));
  return 1;
}
