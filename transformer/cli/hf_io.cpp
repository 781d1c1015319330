// qkv import hf DIR --output RUN and qkv export hf RUN DIR: Hugging Face's GPT-2 and BERT in and out.
#include <filesystem>

#include <fmt/format.h>

#include "transformer/cli/common.h"
#include "transformer/train/hf_model.h"
#include "transformer/util/errors.h"

namespace qkv::cli {

namespace {

void need_hf(const Invocation& in) {
  if (in.text("format") != "hf") throw InputError(fmt::format("qkv {}: format {}: only hf is supported", in.verb, in.text("format")));
}

int run_import(const Invocation& in) {
  need_hf(in);
  const std::string run = in.text("--output");
  const std::string name = in.text("--name", std::filesystem::path(run).lexically_normal().filename().string());
  for (const std::string& note : io::import_hf(in.text("source"), run, name)) fmt::print(stderr, "note: {}\n", note);
  fmt::print("imported {} into {} (experiment {}/config.yaml)\n", in.text("source"), run, run);
  return 0;
}

int run_export(const Invocation& in) {
  need_hf(in);
  io::export_hf(in.text("run"), in.text("destination"));
  fmt::print("exported {} to {}\n", in.text("run"), in.text("destination"));
  return 0;
}

const bool registered = register_runner("import", run_import) && register_runner("export", run_export);

}  // namespace

}  // namespace qkv::cli
