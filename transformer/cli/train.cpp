// qkv train: tokenizer (trained when missing), model, task data, then the training loop.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>
#include <thread>

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "transformer/analysis/estimates.h"
#include "transformer/cli/common.h"
#include "transformer/cli/launch.h"
#include "transformer/data/corpus.h"
#include "transformer/tasks/task.h"
#include "transformer/train/checkpoint.h"
#include "transformer/train/embedding_init.h"
#include "transformer/train/distributed.h"
#include "transformer/train/faults.h"
#include "transformer/train/precision.h"
#include "transformer/train/progress.h"
#include "transformer/train/trainer.h"
#include "transformer/util/atomic_file.h"
#include "transformer/util/errors.h"

namespace qkv::cli {

namespace {

// A finished run resumed is a no-op: says so without reading the data or building the model.
bool already_finished(const Experiment& e, int64_t stop_at) {
  CheckpointStore store(e.output, e.train.keep_checkpoints);
  const auto newest = store.newest_valid();
  if (!newest) return false;
  std::ifstream in(std::filesystem::path(*newest) / "trainer.json");
  const auto state = nlohmann::json::parse(in);
  const int64_t step = state.at("step").get<int64_t>();
  if (state.value("stopped_early", false)) {
    fmt::print("{}: stopped early at step {} (train.patience) ({})\n", e.name, step, *newest);
    return true;
  }
  if (step >= e.train.steps && (stop_at < 0 || stop_at >= step)) {
    fmt::print("{}: already trained to step {} of {} ({})\n", e.name, step, e.train.steps, *newest);
    return true;
  }
  return false;
}

// The run's tokenizer: a resumed run keeps the one it was trained with; rank 0 trains a missing one
// and prepares missing token shards first, and the other ranks then open them.
Tokenizer tokenizer_for_run(const Experiment& e, bool resume, bool quiet, const Distributed& dist) {
  const bool has_run_tokenizer = std::filesystem::exists(std::filesystem::path(e.output) / "tokenizer.model");
  auto open = [&] { return resume && has_run_tokenizer ? run_tokenizer(e) : ensure_tokenizer(e, quiet || !dist.leader()); };
  std::optional<Tokenizer> leader;
  if (dist.leader()) {
    leader = open();
    prepare_corpora(e, *leader);
  }
  dist.barrier();
  corpus_defaults().rebuild = false;  // rank 0 rebuilt them, if asked
  return leader ? *leader : open();
}

// Fine-tuning: the body from the pretrained run, new parts (heads) freshly initialised. A resumed
// run takes its weights from its own checkpoint and only needs to know which are new.
InitReport initialise_from(const Experiment& e, Model& model, const Tokenizer& tokenizer, bool resume, bool report) {
  auto pretrained = CheckpointStore(e.init_from, 1).newest_valid();
  if (!pretrained) throw InputError(fmt::format("{}: init_from: {} holds no complete checkpoint", e.source_file, e.init_from));
  const bool own = resume && CheckpointStore(e.output, e.train.keep_checkpoints).newest_valid().has_value();
  InitReport init = init_from_checkpoint(*pretrained, model, tokenizer.checksum(), /*load_values=*/!own);
  if (!own && report) {
    fmt::print(stderr, "init_from {}: loaded {} tensors; skipped {}{}; newly initialised {}{}\n", *pretrained,
               init.loaded.size(), init.skipped.size(), init.skipped.empty() ? "" : fmt::format(" ({})", fmt::join(init.skipped, ", ")),
               init.initialised.size(), init.initialised.empty() ? "" : fmt::format(" ({})", fmt::join(init.initialised, ", ")));
  }
  return init;
}

// model.embedding_init: the token embeddings (and an untied encoder's source embeddings) start
// from word vectors; a resumed run then loads its own weights over them. embedding_freeze keeps
// them fixed.
void initialise_embeddings(const Experiment& e, Model& model, const Tokenizer& tokenizer, bool report) {
  if (!e.init_from.empty()) {
    throw InputError(fmt::format("{}: model.embedding_init: init_from {} already gives the token embeddings", e.source_file, e.init_from));
  }
  const WordVectors vectors = read_word_vectors(e.model.embedding_init);
  std::vector<std::string> pieces;
  for (int id = 0; id < tokenizer.vocab_size(); ++id) pieces.push_back(tokenizer.piece(id));
  auto params = model->named_parameters();
  EmbeddingInitReport result;
  for (const char* name : {"token_embedding.weight", "source_embedding.weight"}) {
    if (!params.contains(name)) continue;
    result = init_embedding_rows(params[name], pieces, vectors, uint64_t(e.seed));
    if (e.model.embedding_freeze) params[name].requires_grad_(false);
  }
  if (result.matched == 0) {
    throw InputError(fmt::format("{}: model.embedding_init: {} holds none of the tokenizer's {} pieces' words", e.source_file,
                                 e.model.embedding_init, result.pieces));
  }
  if (report) {
    fmt::print(stderr, "embedding_init {}: {} of {} pieces matched ({}, ...){}\n", e.model.embedding_init, result.matched,
               result.pieces, fmt::join(result.examples, " "), e.model.embedding_freeze ? "; frozen" : "");
  }
}

void write_init_report(const Experiment& e, const InitReport& init) {
  const nlohmann::ordered_json report{{"checkpoint", init.checkpoint}, {"step", init.step}, {"loaded", init.loaded},
                                      {"skipped", init.skipped},       {"initialised", init.initialised}};
  write_file_atomic((std::filesystem::path(e.output) / "init.json").string(), report.dump(2) + "\n");
}

void print_start(const Experiment& e, Model& model, int64_t threads, const Distributed& dist) {
  const auto count = count_parameters(model);
  fmt::print(stderr, "{}: {} {} layers, d_model {}, {} position, {:.2f}M parameters; {} threads{}, {}\n", e.name,
             choice_name(family_choices(), e.model.family), e.model.layers, e.model.d_model, e.model.position.scheme,
             double(count.total) / 1e6, threads, dist.active() ? fmt::format(" x {} ranks", dist.world()) : "",
             choice_name(precision_choices(), resolve_precision(e.train.precision)));
}

void print_result(const Experiment& e, const TrainResult& result) {
  if (result.train_seconds == 0) {
    fmt::print("{}: already trained to step {} of {}\n", e.name, result.step, e.train.steps);
    return;
  }
  std::string summary = fmt::format("{}: step {}/{}, {} tok/s, training {}, wall {}", e.name, result.step, e.train.steps,
                                    format_rate(result.tokens_per_s), format_duration(result.train_seconds),
                                    format_duration(result.wall_seconds));
  if (!result.valid.empty()) {
    summary += fmt::format("; valid loss {:.4f}", metric(result.valid, "loss"));
    std::vector<std::string> names{"ppl"};
    names.insert(names.end(), headline_metric_names().begin(), headline_metric_names().end());
    for (const auto& name : names)
      if (const double value = metric(result.valid, name); !std::isnan(value)) summary += fmt::format(", {} {:.4g}", name, value);
  }
  if (result.early_stopped) summary += "; stopped early (train.patience)";
  if (!result.best.empty()) summary += fmt::format("; best {}", result.best);
  fmt::print("{}\n", summary);
}

// --nproc N: starts N workers running the same command without it.
int launch(const Experiment& e, const Invocation& in, int64_t nproc) {
  if (std::getenv("WORLD_SIZE")) throw InputError("--nproc: WORLD_SIZE is already set: a launcher started this process");
  if (e.train.batch_size / e.train.accumulate < nproc) {
    throw InputError(fmt::format("{}: train.batch_size: {} examples per micro-batch cannot be shared by {} ranks", e.source_file,
                                 e.train.batch_size / e.train.accumulate, nproc));
  }
  std::vector<std::string> worker_args;
  for (size_t i = 0; i < in.arguments.size(); ++i) {
    if (in.arguments[i] == "--nproc") {
      ++i;
    } else if (in.arguments[i].rfind("--nproc=", 0) != 0) {
      worker_args.push_back(in.arguments[i]);
    }
  }
  return launch_workers(nproc, worker_args);
}

int run_train(const Invocation& in) {
  const auto loaded = load(in);
  const Experiment& e = loaded.experiment;
  TrainOptions options;
  options.resume = in.flag("--resume");
  options.stop_at = in.integer("--stop-at", -1);
  options.quiet = in.flag("--quiet");
  check_run_directory(e, options.resume);
  if (const int64_t nproc = in.integer("--nproc", 1); nproc > 1) return launch(e, in, nproc);
  const auto dist = Distributed::from_environment();
  set_fault_rank(dist->rank());
  if (options.resume && already_finished(e, options.stop_at)) return 0;
  // Local ranks share the cores.
  const int64_t threads = set_threads(e.train.threads > 0 ? e.train.threads
                                                          : std::max<int64_t>(1, int64_t(std::thread::hardware_concurrency()) / dist->local_world()));
  Tokenizer tokenizer = tokenizer_for_run(e, options.resume, options.quiet, *dist);
  auto task = make_task(e);
  task->prepare(e, tokenizer, /*need_train=*/true);
  Model model = build_model(e, tokenizer);
  std::optional<InitReport> init;
  if (!e.init_from.empty()) {
    init = initialise_from(e, model, tokenizer, options.resume, !options.quiet && dist->leader());
    options.head.insert(init->initialised.begin(), init->initialised.end());
  }
  if (!e.model.embedding_init.empty()) initialise_embeddings(e, model, tokenizer, !options.quiet && dist->leader());
  if (dist->leader()) prepare_run_directory(e, to_yaml(e), tokenizer, options.resume);
  dist->barrier();
  if (init && dist->leader()) write_init_report(e, *init);
  options.distributed = dist.get();
  if (!options.quiet && dist->leader()) print_start(e, model, threads, *dist);
  const TrainResult result = train(e, model, *task, tokenizer, options);
  if (result.signal) return 128 + result.signal;  // 130 for SIGINT, 143 for SIGTERM, as shells report
  if (dist->leader()) print_result(e, result);
  return 0;
}

const bool registered = register_runner("train", run_train);

}  // namespace

}  // namespace qkv::cli
