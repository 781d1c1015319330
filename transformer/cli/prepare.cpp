// qkv prepare: encodes a language-modelling experiment's corpus splits into token shards
// (data/corpus.h) on train.threads cores, or says where they are when already prepared; one JSON
// line per split with its folder, tokens, documents and, when encoded now, the seconds and MB/s.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "transformer/cli/common.h"
#include "transformer/core/device.h"
#include "transformer/data/corpus.h"
#include "transformer/train/precision.h"
#include "transformer/util/errors.h"

namespace qkv::cli {

namespace {

int run_prepare(const Invocation& in) {
  const auto loaded = load(in);
  const Experiment& e = loaded.experiment;
  if (!reads_corpus(e.task.kind, e.data.format, e.data.columns.text)) {
    throw InputError(fmt::format("{}: task.kind: qkv prepare encodes the corpora of causal_lm and masked_lm (text or jsonl), "
                                 "not {}", e.source_file, choice_name(task_choices(), e.task.kind)));
  }
  set_compute_device(torch::kCPU);
  const Tokenizer tokenizer = ensure_tokenizer(e, in.flag("--quiet"));
  for (const char* split : {"train", "valid", "test"}) {
    if (!corpus_has_split(e.data, split)) continue;
    const std::string dir = corpus_dir(e.data, e.seed, split, tokenizer.checksum());
    CorpusOptions options = corpus_defaults();
    if (std::string(split) == "valid" && e.data.valid.empty()) options.rebuild = false;  // prepared with train
    const PreparedCorpus p = prepare_if_needed(e.data, e.seed, split, tokenizer, options);
    const auto shards = open_corpus(e.data, e.seed, split, tokenizer, CorpusOptions{});  // checks it as every command does
    nlohmann::ordered_json line{{"split", split}, {"dir", dir}, {"tokens", shards->size()}, {"documents", shards->documents()},
                                {"dtype", shards->manifest().at("dtype")}};
    if (p.fresh && p.dir == dir) {
      line["source_mb"] = double(p.bytes) / 1e6;
      line["seconds"] = p.seconds;
      line["mb_per_s"] = double(p.bytes) / 1e6 / std::max(p.seconds, 1e-9);
      line["threads"] = corpus_defaults().threads;
    }
    fmt::print("{}\n", line.dump());
  }
  return 0;
}

const bool registered = register_runner("prepare", run_prepare);

}  // namespace

}  // namespace qkv::cli
