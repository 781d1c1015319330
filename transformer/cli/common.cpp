// Shared verb plumbing.
#include "transformer/cli/common.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>

#include "transformer/core/device.h"
#include "transformer/data/corpus.h"
#include "transformer/data/examples.h"
#include "transformer/data/lines.h"
#include "transformer/data/parallel.h"
#include "transformer/util/errors.h"
#include "transformer/util/expand_paths.h"
#include "transformer/tasks/synthetic.h"
#include "transformer/train/checkpoint.h"
#include "transformer/train/hf_model.h"
#include "transformer/util/checksum.h"
#include "transformer/util/atomic_file.h"

namespace qkv::cli {

namespace fs = std::filesystem;

void resolve_hf_init(Experiment& e, bool quiet) {
  if (e.init_from.rfind("hf:", 0) != 0) return;
  const fs::path dir = e.init_from.substr(3);
  // keyed by config.json and the weights' names, sizes and times: a changed model is imported again
  std::string key = read_file((dir / "config.json").string());
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.path().extension() == ".safetensors" || entry.path().extension() == ".json" || entry.path().extension() == ".txt")
      key += fmt::format("|{}:{}:{}", entry.path().filename().string(), fs::file_size(entry.path()),
                         entry.last_write_time().time_since_epoch().count());
  const fs::path cache = fs::path(corpus_cache_root(e.data)).parent_path() / "hf";
  const std::string run = (cache / fmt::format("{}-{}", dir.lexically_normal().filename().string(), checksum_hex(key).substr(0, 12))).string();
  if (!CheckpointStore(run, 1).newest_valid()) {
    if (!quiet) fmt::print(stderr, "importing {} into {}\n", dir.string(), run);
    fs::remove_all(run);
    for (const std::string& note : io::import_hf(dir.string(), run, "imported")) if (!quiet) fmt::print(stderr, "note: {}\n", note);
  }
  e.init_from = run;
}

LoadedExperiment load(const Invocation& in) {
  ValidateOptions options;
  options.require_data = command(in.verb).needs_data(in);
  auto loaded = load_experiment(in.experiment, in.sets, options);
  resolve_hf_init(loaded.experiment, in.flag("--quiet"));
  std::string problem;
  const torch::Device device = resolve_device(loaded.experiment.train.device, &problem);
  if (!problem.empty()) throw InputError(fmt::format("{}: train.device: {}", loaded.sources.locate("train.device"), problem));
  set_compute_device(device);
  CorpusOptions& corpus = corpus_defaults();  // how corpora are prepared when a command needs them
  corpus.rebuild = in.flag("--rebuild-data");
  corpus.threads = loaded.experiment.train.threads;
  corpus.quiet = in.flag("--quiet");
  return loaded;
}

void prepare_corpora(const Experiment& e, const Tokenizer& tokenizer) {
  if (!reads_corpus(e.task.kind, e.data.format, e.data.columns.text)) return;
  for (const char* split : {"train", "valid", "test"}) {
    if (!corpus_has_split(e.data, split)) continue;
    CorpusOptions options = corpus_defaults();
    // valid held out of train was prepared with it
    if (std::string(split) == "valid" && e.data.valid.empty()) options.rebuild = false;
    open_corpus(e.data, e.seed, split, tokenizer, options);
  }
  corpus_defaults().rebuild = false;  // done: the commands' tasks open what is now there
}

std::string tokenizer_path(const Experiment& e) {
  if (!e.tokenizer.model.empty()) return e.tokenizer.model;
  return (fs::path(e.init_from) / "tokenizer.model").string();  // a fine-tuned run: its pretrained run's
}

Tokenizer load_tokenizer(const Experiment& e, const std::string& path) {
  if (e.tokenizer.kind != TokenizerKind::kSentencePiece && path == e.tokenizer.model) return Tokenizer::load(e.tokenizer);
  return Tokenizer::load(path);  // a SentencePiece model, or a run's tokenizer.model of any kind
}

namespace {

enum class Side { kBoth, kSource, kTarget };

// The text a tokenizer for the experiment learns from: a corpus's one plain-text file itself, a
// sample of tokenizer.max_sentences lines of any other corpus (files, folders, compressed, JSON
// Lines: memory bounded by the sample), else every text field of its examples (one side of
// sentence pairs for separate translation vocabularies), written one per line to `scratch`.
std::string tokenizer_training_text(const Experiment& e, const std::string& scratch, Side side) {
  if (reads_corpus(e.task.kind, e.data.format, e.data.columns.text)) {
    const auto& items = e.data.train.items;
    const std::string& only = e.data.train.single();
    const bool plain_file = e.data.format == DataFormat::kText && items.size() == 1 && !is_glob(only) &&
                            fs::is_regular_file(only) && only.size() > 4 && only.substr(only.size() - 3) != ".gz" &&
                            only.substr(only.size() - 4) != ".zst";
    if (plain_file) return only;  // SentencePiece samples tokenizer.max_sentences of its lines itself
    write_line_sample(e.data, "train", e.tokenizer.max_sentences, uint64_t(e.seed), scratch);
    return scratch;
  }
  std::string text;
  if (e.task.kind == TaskKind::kDenoise) {
    for (const auto& path : e.data.train.items)
      for (const auto& line : read_text_lines(path, e.data)) text += line + "\n";
  } else if (e.task.kind == TaskKind::kTranslate) {
    for (const auto& pair : read_pairs(e.data.train.single(), e.data, e.task)) {
      if (side != Side::kTarget) text += pair.source + "\n";
      if (side != Side::kSource) text += pair.target + "\n";
    }
  } else {
    for (const auto& ex : read_examples(e.data.train.single(), e.data, e.task, /*require_labels=*/false).examples) {
      for (const std::string* field : {&ex.text, &ex.text_b})
        if (!field->empty()) text += *field + "\n";
      for (const auto& choice : ex.choices) text += choice + "\n";
    }
  }
  write_file_atomic(scratch, text);
  return scratch;
}

Tokenizer ensure_one(const Experiment& e, const std::string& path, Side side, bool quiet) {
  if (!fs::exists(path)) {
    if (e.tokenizer.model.empty()) throw InputError(fmt::format("{}: init_from: {} holds no tokenizer.model", e.source_file, e.init_from));
    if (!e.init_from.empty()) {
      throw InputError(fmt::format("{}: tokenizer.model: {} does not exist; a fine-tuned run uses the tokenizer of its "
                                   "pretrained run ({}), so leave tokenizer.model out or name that file",
                                   e.source_file, path, (fs::path(e.init_from) / "tokenizer.model").string()));
    }
    if (e.tokenizer.kind != TokenizerKind::kSentencePiece) {
      throw InputError(fmt::format("{}: tokenizer.model: {} does not exist; qkv trains only SentencePiece tokenizers, "
                                   "a {} tokenizer comes with its pretrained model",
                                   e.source_file, path, choice_name(tokenizer_kind_choices(), e.tokenizer.kind)));
    }
    const std::string scratch = path + ".text.tmp";
    const std::string text = tokenizer_training_text(e, scratch, side);
    if (!quiet) fmt::print(stderr, "training a {}-piece tokenizer on {} -> {}\n", e.tokenizer.vocab_size, e.data.train.joined(), path);
    Tokenizer::train(text, path, e.tokenizer, uint64_t(e.seed));
    std::error_code ec;
    fs::remove(scratch, ec);
  }
  Tokenizer tokenizer = load_tokenizer(e, path);
  // A model is trained once with its rule: another rule asked of an existing file needs a new file.
  const std::string trained = tokenizer.normalization_rule();
  const char* asked = choice_name(normalization_choices(), e.tokenizer.normalization);
  bool known = false;
  for (const auto& [name, value] : normalization_choices()) known = known || trained == name;
  if (e.init_from.empty() && known && trained != asked) {
    throw InputError(fmt::format("{}: tokenizer.normalization: the experiment asks for {}, but {} was trained with {}; "
                                 "name a new tokenizer.model to train one with {}, or set normalization: {}",
                                 e.source_file, asked, path, trained, asked, trained));
  }
  return tokenizer;
}

}  // namespace

Tokenizer ensure_tokenizer(const Experiment& e, bool quiet) {
  if (is_synthetic(e.task.kind)) return Tokenizer::symbols(SyntheticTask::alphabet(e.task));
  const bool separate = !e.tokenizer.target_model.empty();
  Tokenizer tokenizer = ensure_one(e, tokenizer_path(e), separate ? Side::kSource : Side::kBoth, quiet);
  if (separate) tokenizer.set_target(ensure_one(e, e.tokenizer.target_model, Side::kTarget, quiet));
  return tokenizer;
}

Tokenizer run_tokenizer(const Experiment& e) {
  if (is_synthetic(e.task.kind)) return Tokenizer::symbols(SyntheticTask::alphabet(e.task));
  const fs::path in_run = fs::path(e.output) / "tokenizer.model";
  Tokenizer tokenizer = fs::exists(in_run) ? Tokenizer::load(in_run.string()) : load_tokenizer(e, tokenizer_path(e));
  if (!e.tokenizer.target_model.empty()) {
    const fs::path target_in_run = fs::path(e.output) / "target_tokenizer.model";
    tokenizer.set_target(Tokenizer::load(fs::exists(target_in_run) ? target_in_run.string() : e.tokenizer.target_model));
  }
  return tokenizer;
}

Model build_model(const Experiment& e, int64_t vocab_size) {
  torch::manual_seed(uint64_t(e.seed));
  auto model = make_model(e.model, vocab_size, uint64_t(e.seed));
  model->to(compute_device());  // initialised on the CPU: the same values on every device
  return model;
}

Model build_model(const Experiment& e, const Tokenizer& tokenizer) {
  torch::manual_seed(uint64_t(e.seed));
  const int64_t source = tokenizer.has_separate_target() ? tokenizer.vocab_size() : 0;
  auto model = make_model(e.model, tokenizer.target().vocab_size(), uint64_t(e.seed), source);
  model->to(compute_device());
  return model;
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

namespace {

std::string find_checkpoint(const Experiment& e, const std::string& explicit_path) {
  if (explicit_path == "best") {
    auto best = CheckpointStore(e.output, 1, "best", "").newest_valid();
    if (!best) throw InputError(fmt::format("{}: --checkpoint best: {} has no best checkpoint (kept for the labelled tasks, "
                                            "or with train.select_metric)", e.source_file, e.output));
    return *best;
  }
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

}  // namespace

TrainedModel open_trained_model(const Experiment& e, const std::string& checkpoint_arg) {
  TrainedModel trained{run_tokenizer(e), nullptr, {}, 0, {}};
  trained.model = build_model(e, trained.tokenizer);
  const std::string checksum = trained.tokenizer.checksum();
  if (checkpoint_arg.empty() && e.train.average_last > 1) {
    const auto paths = CheckpointStore(e.output, e.train.keep_checkpoints).newest_valid(e.train.average_last);
    if (paths.empty()) throw InputError(fmt::format("{}: no complete checkpoint in {} (run qkv train first)", e.source_file, e.output));
    trained.checkpoint = fmt::format("average of {}", fmt::join(paths, ", "));
    trained.state = average_checkpoints(paths, trained.model, checksum);
  } else {
    trained.checkpoint = find_checkpoint(e, checkpoint_arg);
    trained.state = load_checkpoint(trained.checkpoint, trained.model, nullptr, checksum);
  }
  trained.step = trained.state.at("step").get<int64_t>();
  trained.model->eval();
  return trained;
}

std::vector<int64_t> model_input(const Experiment& e, const Tokenizer& tokenizer, const std::string& text) {
  const auto& s = tokenizer.special();
  std::vector<int64_t> ids;
  const auto pieces = tokenizer.encode(text);
  switch (e.model.family) {
    case Family::kGpt:
      ids.push_back(is_synthetic(e.task.kind) ? s.bos : s.eos);
      ids.insert(ids.end(), pieces.begin(), pieces.end());
      break;
    case Family::kBert:
      if (s.cls >= 0) ids.push_back(s.cls);
      ids.insert(ids.end(), pieces.begin(), pieces.end());
      if (s.sep >= 0) ids.push_back(s.sep);
      break;
    case Family::kSeq2Seq:
    case Family::kRnn:
      ids.insert(ids.end(), pieces.begin(), pieces.end());
      ids.push_back(s.eos);
      break;
  }
  return ids;
}

}  // namespace qkv::cli
