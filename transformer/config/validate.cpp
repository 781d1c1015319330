// Cross-field rules of an experiment: one validator per section, in validate().
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <tuple>

#include <fmt/format.h>

#include "transformer/config/experiment.h"
#include "transformer/util/errors.h"
#include "transformer/util/expand_paths.h"

namespace qkv {

namespace {

class Rules {
 public:
  explicit Rules(const ConfigSources& sources) : sources_(sources) {}

  void require(bool ok, const std::string& dotted, const std::string& message) const {
    if (!ok) throw InputError(fmt::format("{}: {}: {}", sources_.locate(dotted), dotted, message));
  }
  bool given(const std::string& dotted) const { return sources_.given.count(dotted) > 0; }

 private:
  const ConfigSources& sources_;
};

bool safe_name(const std::string& name) {
  if (name.empty() || name == "." || name == "..") return false;
  for (char ch : name)
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_' || ch == '.')) return false;
  return true;
}

// The keys a section lists in visit().
struct KeyCollector {
  std::vector<std::string> keys;
  template <class T>
  void field(const char* key, T&, const Spec&) { keys.push_back(key); }
  template <class T>
  void path(const char* key, T&, const Spec&) { keys.push_back(key); }
  template <class E>
  void choice(const char* key, E&, const Choices<E>&, const Spec&) { keys.push_back(key); }
  template <class S>
  void section(const char* key, S&, const Spec&) { keys.push_back(key); }
};

template <class S>
std::vector<std::string> section_keys(const S& section) {
  S copy = section;
  KeyCollector collector;
  copy.visit(collector);
  return collector.keys;
}

// The columns of tsv, csv and jsonl files against the task.
void validate_columns(const DataConfig& d, const TaskConfig& task, const char* task_name, const char* format_name,
                      const Rules& rules) {
  const bool table = d.format == DataFormat::kTsv || d.format == DataFormat::kCsv;
  const ColumnsConfig& c = d.columns;
  rules.require(!c.text.empty(), "data.columns.text", fmt::format("required by format {}", format_name));
  const bool needs_b = task.kind == TaskKind::kPair || task.kind == TaskKind::kTranslate;
  rules.require(!needs_b || !c.text_b.empty(), "data.columns.text_b", fmt::format("required by task {}", task_name));
  rules.require(!is_labelled(task.kind) || !c.label.empty(), "data.columns.label", fmt::format("required by task {}", task_name));
  if (task.kind == TaskKind::kChoice) {
    const bool list = d.format == DataFormat::kJsonl ? c.choices.size() == 1 : c.choices.size() >= 2;
    rules.require(list, "data.columns.choices",
                  d.format == DataFormat::kJsonl ? "expected one field holding the list of candidates"
                                                 : "expected the columns of at least two candidates");
  } else {
    rules.require(c.choices.empty(), "data.columns.choices", fmt::format("applies to task choice, not {}", task_name));
  }
  if (table && !d.header) {
    for (const auto& [key, name] : {std::pair<const char*, std::string>{"text", c.text}, {"text_b", c.text_b}, {"label", c.label}}) {
      const bool number = !name.empty() && name.find_first_not_of("0123456789") == std::string::npos;
      rules.require(name.empty() || number, std::string("data.columns.") + key,
                    fmt::format("without a header, columns are 0-based numbers; found '{}'", name));
    }
  }
}

// Labels or scores of the classification tasks against the data format.
void validate_labels(const Experiment& e, const Rules& rules) {
  const DataConfig& d = e.data;
  const TaskConfig& task = e.task;
  const char* format_name = choice_name(data_format_choices(), d.format);
  if (task.regression) {
    rules.require(task.labels.empty(), "task.labels", "a regression task predicts a score and has no labels");
    rules.require(d.format != DataFormat::kSnli && (!is_glue(d.format) || d.format == DataFormat::kGlueStsb), "task.regression",
                  fmt::format("{} holds labels, not scores", format_name));
  } else {
    rules.require(d.format != DataFormat::kGlueStsb, "task.regression",
                  "glue/stsb holds similarity scores: set task.regression: true");
    rules.require(task.labels.size() >= 2, "task.labels",
                  fmt::format("expected at least two label names, found {}", task.labels.size()));
    std::set<std::string> unique(task.labels.begin(), task.labels.end());
    rules.require(unique.size() == task.labels.size(), "task.labels", "label names repeat");
  }
}

// Formats, columns and labels of the data section against the task.
void validate_data(const Experiment& e, const Rules& rules) {
  const DataConfig& d = e.data;
  const TaskConfig& task = e.task;
  const char* task_name = choice_name(task_choices(), task.kind);
  const char* format_name = choice_name(data_format_choices(), d.format);
  const bool table = d.format == DataFormat::kTsv || d.format == DataFormat::kCsv;
  const bool corpus = reads_corpus(task.kind, d.format, d.columns.text);
  const bool generic = (table || d.format == DataFormat::kJsonl) && !corpus;
  const bool glue_single = d.format == DataFormat::kGlueCola || d.format == DataFormat::kGlueSst2;
  const bool glue_pair = is_glue(d.format) && !glue_single;
  for (const char* key : {"columns", "header", "source", "target", "documents", "text_field"}) {
    const std::string dotted = std::string("data.") + key;
    rules.require(!rules.given(dotted) || data_option_applies(d.format, key), dotted,
                  fmt::format("applies to format {} only, but the format is {}", data_option_owners(key), format_name));
  }
  rules.require(d.train_examples == 0 || is_labelled(task.kind) || task.kind == TaskKind::kTranslate, "data.train_examples",
                fmt::format("applies to the labelled tasks (classify, pair, choice) and translate, not {}", task_name));
  if (is_synthetic(task.kind)) return;
  for (const char* key : {"documents", "text_field", "valid_fraction"}) {
    const std::string dotted = std::string("data.") + key;
    rules.require(!rules.given(dotted) || corpus, dotted,
                  "applies to language-modelling corpora (causal_lm, masked_lm on text or jsonl documents)");
  }
  rules.require(d.valid_fraction == 0 || d.valid.empty(), "data.valid_fraction",
                "holds documents out of data.train for validation; data.valid is set already");
  for (const auto& [key, paths] : {std::pair<const char*, const Paths*>{"data.train", &d.train}, {"data.valid", &d.valid},
                                   {"data.test", &d.test}}) {
    rules.require(corpus || task.kind == TaskKind::kDenoise || paths->items.size() <= 1, key,
                  fmt::format("format {} reads one file; {} paths given (corpora for causal_lm and masked_lm, and denoise, "
                              "take several)",
                              format_name, paths->items.size()));
  }

  switch (task.kind) {
    case TaskKind::kCausalLm:
      rules.require(corpus, "data.format",
                    fmt::format("causal_lm reads plain text (format text) or JSON Lines documents (format jsonl), found {}",
                                format_name));
      break;
    case TaskKind::kMaskedLm:
      rules.require(d.format != DataFormat::kParallel, "data.format", "masked_lm reads text or sentence pairs, not parallel files");
      break;
    case TaskKind::kClassify:
      rules.require(glue_single || generic, "data.format",
                    fmt::format("classify reads single sentences (glue/cola, glue/sst2, tsv, csv, jsonl), found {}", format_name));
      break;
    case TaskKind::kPair:
      rules.require(glue_pair || d.format == DataFormat::kSnli || generic, "data.format",
                    fmt::format("pair reads sentence pairs (glue/mrpc, qqp, stsb, mnli, qnli, rte, wnli, snli, tsv, csv, "
                                "jsonl), found {}", format_name));
      break;
    case TaskKind::kChoice:
      rules.require(generic, "data.format", fmt::format("choice reads tsv, csv or jsonl with columns, found {}", format_name));
      break;
    case TaskKind::kTranslate:
      rules.require(d.format == DataFormat::kParallel || generic, "data.format",
                    fmt::format("translate reads parallel files or tsv, csv, jsonl with columns text (source) and text_b "
                                "(target), found {}", format_name));
      break;
    case TaskKind::kDenoise:
      rules.require(d.format == DataFormat::kText, "data.format",
                    fmt::format("denoise reads plain text, one sentence or verse per line (format text), found {}", format_name));
      break;
    default:
      break;
  }
  if (d.format == DataFormat::kParallel) {
    rules.require(!d.source.empty(), "data.source", "required by format parallel (the source files' suffix, e.g. es)");
    rules.require(!d.target.empty(), "data.target", "required by format parallel (the target files' suffix, e.g. en)");
    rules.require(d.source != d.target, "data.target", fmt::format("equals data.source '{}'", d.source));
  }
  if (generic) validate_columns(d, task, task_name, format_name, rules);
  if (is_labelled(task.kind) && task.kind != TaskKind::kChoice) validate_labels(e, rules);
}

// model.position: options of another scheme are a mistake worth reporting, not ignoring; then the
// scheme's own rules and what it needs.
void validate_position(const Experiment& e, const Rules& rules) {
  const ModelConfig& m = e.model;
  const PositionConfig& p = m.position;
  for (const PositionOption* option : position_options()) {
    const std::string dotted = std::string("model.position.") + option->key;
    if (!rules.given(dotted) || position_option_applies(p.scheme, option->key)) continue;
    rules.require(false, dotted,
                  fmt::format("applies to scheme {} only, but the scheme is {}", position_option_owners(option->key), p.scheme));
  }
  const PositionSchemeSpec& spec = p.spec();
  if (spec.check) {
    const PositionProblem problem = spec.check(p, m.d_model / m.heads);
    rules.require(!problem.found(), "model.position." + problem.key, problem.message);
  }
  if (spec.bounded_by_max_len && !is_synthetic(e.task.kind)) {
    rules.require(e.train.seq_len <= m.max_len, "train.seq_len",
                  fmt::format("{} positions cover model.max_len = {} positions; seq_len {} needs more", p.scheme, m.max_len,
                              e.train.seq_len));
  }
  // Randomized positions draw each training sequence's T distinct positions from [0, randomize).
  if (const int64_t range = p.integer("randomize"); range > 0) {
    const bool synthetic = is_synthetic(e.task.kind);
    const int64_t needed = synthetic ? synthetic_positions(e.task.kind, m.family, e.task.max_length) : e.train.seq_len;
    rules.require(range >= needed, "model.position.randomize",
                  fmt::format("must be at least {}, the positions of {} {}; found {}", needed,
                              synthetic ? "training examples of length" : "train.seq_len",
                              synthetic ? e.task.max_length : e.train.seq_len, range));
    rules.require(!spec.bounded_by_max_len || range <= m.max_len, "model.position.randomize",
                  fmt::format("{} positions cover model.max_len = {}; randomize {} reaches past them", p.scheme, m.max_len, range));
  }
}

}  // namespace

void resolve(Experiment& e, const ConfigSources& sources) {
  Rules rules(sources);
  TaskConfig& task = e.task;
  e.model.sentence_head = task.kind == TaskKind::kMaskedLm && task.sentence_objective != SentenceObjective::kNone;
  if (!is_labelled(task.kind)) return;
  if (task.labels.empty() && !task.regression && task.kind != TaskKind::kChoice) task.labels = default_labels(e.data.format);
  const int64_t classes = task.kind == TaskKind::kChoice || task.regression ? 1 : int64_t(task.labels.size());
  if (rules.given("model.num_classes") && classes > 0) {
    rules.require(e.model.num_classes == classes, "model.num_classes",
                  fmt::format("task {} needs {} output{}, found {} (leave it out: it follows the task)",
                              choice_name(task_choices(), task.kind), classes, classes == 1 ? "" : "s", e.model.num_classes));
  }
  e.model.num_classes = classes;
}

namespace {

// The model section: shapes, the position scheme, and which families each task trains.
void validate_model(const Experiment& e, const Rules& rules) {
  const ModelConfig& m = e.model;
  rules.require(m.d_model % m.heads == 0, "model.heads",
                fmt::format("d_model {} is not divisible by heads {}", m.d_model, m.heads));
  validate_position(e, rules);
  const char* task_name = choice_name(task_choices(), e.task.kind);
  const char* family_name = choice_name(family_choices(), m.family);
  switch (e.task.kind) {
    case TaskKind::kCausalLm:
      rules.require(m.family == Family::kGpt, "task.kind",
                    fmt::format("causal_lm trains a decoder-only model; model.family is {}, expected gpt", family_name));
      break;
    case TaskKind::kMaskedLm:
      rules.require(m.family == Family::kBert, "task.kind",
                    fmt::format("masked_lm trains an encoder-only model; model.family is {}, expected bert", family_name));
      break;
    case TaskKind::kClassify:
    case TaskKind::kPair:
    case TaskKind::kChoice:
      rules.require(m.family != Family::kSeq2Seq, "task.kind",
                    fmt::format("{} fine-tunes a gpt or bert model; model.family is seq2seq", task_name));
      break;
    case TaskKind::kTranslate:
      rules.require(m.family == Family::kSeq2Seq || m.family == Family::kRnn, "task.kind",
                    fmt::format("translate trains an encoder-decoder model; model.family is {}, expected seq2seq or rnn", family_name));
      break;
    case TaskKind::kDenoise:
      rules.require(m.family == Family::kSeq2Seq, "task.kind",
                    fmt::format("denoise pretrains an encoder-decoder model; model.family is {}, expected seq2seq", family_name));
      break;
    default:
      break;
  }
  if (m.family == Family::kRnn) {
    rules.require(e.task.kind == TaskKind::kTranslate, "model.family",
                  fmt::format("rnn is the translation baseline; task {} needs gpt, bert or seq2seq", task_name));
    rules.require(m.position.scheme == kNoPositionScheme, "model.position.scheme",
                  fmt::format("rnn reads positions through its recurrence; expected {}, found {}", kNoPositionScheme, m.position.scheme));
    rules.require(m.d_model % 2 == 0, "model.d_model",
                  fmt::format("rnn splits d_model between the encoder's two directions; expected an even number, found {}", m.d_model));
  }
  rules.require(m.pool == Pooling::kAuto || is_labelled(e.task.kind), "model.pool",
                fmt::format("applies to the labelled tasks (classify, pair, choice), not {}", task_name));
}

// The task section: options of another kind, the generated tasks' lengths, what text tasks need
// (training data only where data is read: an imported model generates without any).
void validate_task(const Experiment& e, const Rules& rules, bool require_data) {
  const TaskConfig& task = e.task;
  const ModelConfig& m = e.model;
  const char* task_name = choice_name(task_choices(), task.kind);
  // Task options that belong to another kind are reported, not ignored.
  for (const auto& key : section_keys(task)) {
    const std::string dotted = "task." + key;
    if (!rules.given(dotted) || task_option_applies(task.kind, key)) continue;
    rules.require(false, dotted, fmt::format("applies to task {} only, but the task is {}", task_option_owners(key), task_name));
  }
  if (is_synthetic(task.kind)) {
    rules.require(task.min_length <= task.max_length, "task.min_length",
                  fmt::format("min_length {} exceeds max_length {}", task.min_length, task.max_length));
    const int64_t positions = synthetic_positions(task.kind, m.family, task.max_length);
    if (m.position.spec().bounded_by_max_len) {
      rules.require(positions <= m.max_len, "model.max_len",
                    fmt::format("{} positions cover {}; training examples of length {} need {}", m.position.scheme, m.max_len,
                                task.max_length, positions));
    }
  } else {
    rules.require(!require_data || !e.data.train.empty(), "data.train", fmt::format("required by task {}", task_name));
    rules.require(!e.tokenizer.model.empty() || !e.init_from.empty(), "tokenizer.model",
                  fmt::format("required by task {} (or init_from, whose tokenizer is then used)", task_name));
  }
  if (is_labelled(task.kind)) {
    if (!task.positive.empty()) {
      rules.require(std::find(task.labels.begin(), task.labels.end(), task.positive) != task.labels.end(), "task.positive",
                    fmt::format("'{}' is not one of task.labels [{}]", task.positive, fmt::join(task.labels, ", ")));
    }
    rules.require(!rules.given("task.pair_order") || m.family == Family::kGpt, "task.pair_order",
                  fmt::format("a {} reads both sentences at once; the order of a pair matters to gpt only",
                              choice_name(family_choices(), m.family)));
    rules.require(task.lm_weight == 0.0 || m.family == Family::kGpt, "task.lm_weight",
                  fmt::format("the auxiliary language-model loss needs a gpt model, found {}",
                              choice_name(family_choices(), m.family)));
  }
  if (task.kind == TaskKind::kMaskedLm) {
    rules.require(task.mask_replace + task.mask_random <= 1.0 + 1e-9, "task.mask_random",
                  fmt::format("mask_replace {} + mask_random {} exceed 1", task.mask_replace, task.mask_random));
  }
}

// The tokenizer section: a separate target vocabulary for translation only.
void validate_tokenizer(const Experiment& e, const Rules& rules) {
  if (e.task.kind == TaskKind::kTranslate && !e.tokenizer.target_model.empty()) {
    rules.require(e.tokenizer.target_model != e.tokenizer.model, "tokenizer.target_model",
                  "names the same file as tokenizer.model; leave it out for one joint model");
  }
  rules.require(e.task.kind == TaskKind::kTranslate || e.tokenizer.target_model.empty(), "tokenizer.target_model",
                fmt::format("applies to task translate only, but the task is {}", choice_name(task_choices(), e.task.kind)));
}

// The train section against the schedule, fine-tuning and the task.
void validate_train(const Experiment& e, const Rules& rules) {
  const TrainConfig& t = e.train;
  const char* task_name = choice_name(task_choices(), e.task.kind);
  rules.require(t.warmup <= t.steps, "train.warmup", fmt::format("warmup {} exceeds steps {}", t.warmup, t.steps));
  rules.require(t.batch_size % t.accumulate == 0, "train.accumulate",
                fmt::format("batch_size {} is not divisible into {} micro-batches", t.batch_size, t.accumulate));
  for (const auto& [key, set] : {std::pair<const char*, bool>{"train.freeze_body", t.freeze_body}, {"train.head_lr", t.head_lr > 0}}) {
    rules.require(!set || !e.init_from.empty(), key, "applies when fine-tuning: set init_from to the pretrained run");
  }
  rules.require(t.batch_tokens == 0 || e.task.kind == TaskKind::kTranslate || e.task.kind == TaskKind::kDenoise, "train.batch_tokens",
                fmt::format("applies to tasks translate and denoise only, but the task is {}", task_name));
  rules.require(t.average_last == 0 || e.task.kind == TaskKind::kTranslate, "train.average_last",
                fmt::format("applies to task translate only, but the task is {}", task_name));
  rules.require(t.average_last <= t.keep_checkpoints, "train.average_last",
                fmt::format("averages {} checkpoints but train.keep_checkpoints keeps {}", t.average_last, t.keep_checkpoints));
  if (!t.select_metric.empty()) {
    const auto names = task_metric_names(e.task);
    rules.require(std::find(names.begin(), names.end(), t.select_metric) != names.end(), "train.select_metric",
                  fmt::format("task {} reports {}; found '{}'", task_name, fmt::join(names, ", "), t.select_metric));
  }
}

// The files the experiment names exist (when the command reads them): a corpus's files, folders
// and globs name at least one file each; the other formats' paths are files.
void validate_files(const Experiment& e, const Rules& rules) {
  const bool corpus = reads_corpus(e.task.kind, e.data.format, e.data.columns.text);
  for (const auto& [key, paths] : {std::pair<const char*, const Paths*>{"data.train", &e.data.train},
                                   {"data.valid", &e.data.valid}, {"data.test", &e.data.test}}) {
    if (paths->empty()) continue;
    if (corpus) {
      const ExpandedPaths expanded = expand_paths(paths->items);
      rules.require(expanded.problem.empty(), key, fmt::format("{} (scripts/prepare_data.sh builds the corpora)", expanded.problem));
      continue;
    }
    const bool several = e.task.kind == TaskKind::kDenoise;  // plain text files, each read line by line
    for (const auto& file : several ? paths->items : split_files(e.data, paths->single())) {
      rules.require(std::filesystem::is_regular_file(file), key,
                    fmt::format("file not found: {} (scripts/prepare_data.sh builds the corpora)", file));
    }
  }
  if (e.init_from.rfind("hf:", 0) == 0) {
    const std::string dir = e.init_from.substr(3);
    rules.require(std::filesystem::is_regular_file(std::filesystem::path(dir) / "config.json"), "init_from",
                  fmt::format("no Hugging Face model directory at {} (config.json, model.safetensors, tokenizer files)", dir));
  } else if (!e.init_from.empty()) {
    rules.require(std::filesystem::is_directory(e.init_from), "init_from",
                  fmt::format("no such run directory: {} (train the pretrained experiment first)", e.init_from));
  }
}

}  // namespace

void validate(const Experiment& e, const ConfigSources& sources, const ValidateOptions& options) {
  Rules rules(sources);
  rules.require(safe_name(e.name), "name", fmt::format("expected letters, digits, '-', '_' or '.', found '{}'", e.name));
  validate_model(e, rules);
  validate_task(e, rules, options.require_data);
  validate_data(e, rules);
  validate_tokenizer(e, rules);
  validate_train(e, rules);
  if (options.require_data) validate_files(e, rules);
}

}  // namespace qkv
