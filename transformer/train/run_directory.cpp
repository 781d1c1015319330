// The run directory: refusing to overwrite a run, and writing what a run keeps beside its checkpoints.
#include "transformer/train/run_directory.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "transformer/util/atomic_file.h"
#include "transformer/util/errors.h"

namespace qkv {

namespace fs = std::filesystem;

void check_run_directory(const Experiment& e, bool resume) {
  const fs::path checkpoints = fs::path(e.output) / "checkpoints";
  if (!resume && fs::exists(checkpoints) && !fs::is_empty(checkpoints)) {
    throw InputError(fmt::format("{}: {}: already holds checkpoints of an earlier run; pass --resume to continue it, "
                                 "or choose another output directory",
                                 e.source_file, e.output));
  }
}

void prepare_run_directory(const Experiment& e, const std::string& config_yaml, const Tokenizer& tokenizer, bool resume) {
  check_run_directory(e, resume);
  const fs::path run(e.output);
  std::error_code ec;
  fs::create_directories(run, ec);
  if (ec) throw std::runtime_error(fmt::format("{}: cannot create the run directory: {}", e.output, ec.message()));
  write_file_atomic((run / "config.yaml").string(), config_yaml);
  auto keep_copy = [&](const Tokenizer& t, const char* name) {  // the run keeps the tokenizers it was trained with
    const fs::path copy = run / name;
    if (t.bytes().empty() || fs::weakly_canonical(t.path()) == fs::weakly_canonical(copy)) return;
    write_file_atomic(copy.string(), t.bytes());
  };
  keep_copy(tokenizer, "tokenizer.model");
  if (tokenizer.has_separate_target()) keep_copy(tokenizer.target(), "target_tokenizer.model");
}

}  // namespace qkv
