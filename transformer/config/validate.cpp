// Cross-field rules of an experiment, and writing the resolved experiment back as YAML.
#include <yaml-cpp/yaml.h>

#include <filesystem>

#include <fmt/format.h>

#include "transformer/config/experiment.h"
#include "transformer/errors.h"

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

}  // namespace

void validate(const Experiment& e, const ConfigSources& sources, const ValidateOptions& options) {
  Rules rules(sources);
  const ModelConfig& m = e.model;
  const PositionConfig& p = m.position;

  rules.require(safe_name(e.name), "name", fmt::format("expected letters, digits, '-', '_' or '.', found '{}'", e.name));
  rules.require(m.d_model % m.heads == 0, "model.heads",
                fmt::format("d_model {} is not divisible by heads {}", m.d_model, m.heads));

  // Options that belong to another scheme are a mistake worth reporting, not ignoring.
  for (const char* key : {"clip", "buckets", "max_distance", "base", "fraction"}) {
    const std::string dotted = std::string("model.position.") + key;
    if (!rules.given(dotted) || position_option_applies(p.scheme, key)) continue;
    rules.require(false, dotted, fmt::format("applies to scheme {} only, but the scheme is {}",
                                             position_kind_name(position_option_owner(key)), position_kind_name(p.scheme)));
  }
  if (p.scheme == PositionKind::kRope) {
    const int64_t rotated = int64_t(double(m.d_model / m.heads) * p.fraction) / 2 * 2;
    rules.require(rotated >= 2, "model.position.fraction",
                  fmt::format("rotates {} of the {} dims of each head; at least 2 are needed", rotated, m.d_model / m.heads));
  }
  if (p.scheme == PositionKind::kT5) {
    // The bidirectional form halves the buckets; each half needs exact buckets and a log range.
    rules.require(p.buckets >= 4, "model.position.buckets", fmt::format("expected at least 4, found {}", p.buckets));
    rules.require(p.max_distance > p.buckets / 2, "model.position.max_distance",
                  fmt::format("must exceed buckets/2 = {} (the exact buckets), found {}", p.buckets / 2, p.max_distance));
  }
  if (p.scheme == PositionKind::kLearned && !is_synthetic(e.task.kind)) {
    rules.require(e.train.seq_len <= m.max_len, "train.seq_len",
                  fmt::format("learned positions cover model.max_len = {} positions; seq_len {} needs more", m.max_len,
                              e.train.seq_len));
  }

  if (e.task.kind == TaskKind::kCausalLm) {
    rules.require(m.family == Family::kGpt, "task.kind",
                  fmt::format("causal_lm trains a decoder-only model; model.family is {}, expected gpt",
                              choice_name(family_choices(), m.family)));
  }

  const TaskConfig& task = e.task;
  // Task options that belong to another kind are reported, not ignored.
  for (const auto& key : section_keys(task)) {
    const std::string dotted = "task." + key;
    if (!rules.given(dotted) || task_option_applies(task.kind, key)) continue;
    rules.require(false, dotted, fmt::format("applies to task {} only, but the task is {}", task_option_owners(key),
                                             choice_name(task_choices(), task.kind)));
  }
  if (is_synthetic(task.kind)) {
    rules.require(task.min_length <= task.max_length, "task.min_length",
                  fmt::format("min_length {} exceeds max_length {}", task.min_length, task.max_length));
    const int64_t positions = synthetic_positions(task.kind, m.family, task.max_length);
    if (p.scheme == PositionKind::kLearned) {
      rules.require(positions <= m.max_len, "model.max_len",
                    fmt::format("learned positions cover {}; training examples of length {} need {}", m.max_len,
                                task.max_length, positions));
    }
  } else {
    rules.require(!e.data.train.empty(), "data.train", fmt::format("required by task {}", choice_name(task_choices(), task.kind)));
    rules.require(!e.tokenizer.model.empty(), "tokenizer.model",
                  fmt::format("required by task {}", choice_name(task_choices(), task.kind)));
  }

  const TrainConfig& t = e.train;
  rules.require(t.warmup <= t.steps, "train.warmup", fmt::format("warmup {} exceeds steps {}", t.warmup, t.steps));
  rules.require(t.batch_size % t.accumulate == 0, "train.accumulate",
                fmt::format("batch_size {} is not divisible into {} micro-batches", t.batch_size, t.accumulate));

  if (options.require_data) {
    for (const auto& [key, path] : {std::pair<const char*, std::string>{"data.train", e.data.train},
                                    {"data.valid", e.data.valid}, {"data.test", e.data.test}}) {
      if (path.empty()) continue;
      rules.require(std::filesystem::is_regular_file(path), key,
                    fmt::format("file not found: {} (scripts/prepare_data.sh builds the corpora)", path));
    }
  }
}

namespace {

struct Writer {
  YAML::Emitter& out;
  const PositionConfig* position = nullptr;  // inside model.position: write only the scheme's options
  const TaskConfig* task = nullptr;          // inside task: write only the kind's options
  bool skip(const char* k) const {
    return (position && !position_option_applies(position->scheme, k)) || (task && !task_option_applies(task->kind, k));
  }
  void key(const char* k) { out << YAML::Key << k << YAML::Value; }
  void field(const char* k, int64_t& v, const Spec&) {
    if (!skip(k)) key(k), out << v;
  }
  void field(const char* k, double& v, const Spec&) {
    if (!skip(k)) key(k), out << fmt::format("{}", v);
  }
  void field(const char* k, bool& v, const Spec&) {
    if (!skip(k)) key(k), out << (v ? "true" : "false");
  }
  void field(const char* k, std::string& v, const Spec&) {
    if (!skip(k)) key(k), out << YAML::DoubleQuoted << v;
  }
  void path(const char* k, std::string& v, const Spec& s) { field(k, v, s); }
  void field(const char* k, std::vector<int64_t>& v, const Spec&) {
    if (skip(k)) return;
    key(k);
    out << YAML::Flow << v;
  }
  void field(const char* k, Grid& grid, const Spec&) {
    key(k);
    out << YAML::BeginMap;
    for (const auto& [name, values] : grid) out << YAML::Key << name << YAML::Value << YAML::Flow << values;
    out << YAML::EndMap;
  }
  template <class E>
  void choice(const char* k, E& v, const Choices<E>& choices, const Spec&) {
    if (!skip(k)) key(k), out << choice_name(choices, v);
  }
  template <class S>
  void section(const char* k, S& sub, const Spec&) {
    key(k);
    out << YAML::BeginMap;
    if constexpr (std::is_same_v<S, PositionConfig>) position = &sub;
    if constexpr (std::is_same_v<S, TaskConfig>) task = &sub;
    sub.visit(*this);
    position = nullptr;
    task = nullptr;
    out << YAML::EndMap;
  }
};

}  // namespace

std::string to_yaml(const Experiment& experiment) {
  Experiment copy = experiment;
  YAML::Emitter out;
  out << YAML::BeginMap;
  Writer writer{out};
  copy.visit(writer);
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

}  // namespace qkv
