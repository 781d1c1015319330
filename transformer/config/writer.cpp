// Writing the resolved experiment back as YAML, every field of every section, each section's
// own options only (a scheme's, a task kind's, a data format's).
#include <yaml-cpp/yaml.h>

#include <tuple>

#include <fmt/format.h>

#include "transformer/config/experiment.h"

namespace qkv {

namespace {

struct Writer {
  YAML::Emitter& out;
  const PositionConfig* position = nullptr;  // inside model.position: write only the scheme's options
  const TaskConfig* task = nullptr;          // inside task: write only the kind's options
  const DataConfig* data = nullptr;          // inside data: write only the format's options
  bool skip(const char* k) const {
    return (position && !position_option_applies(position->scheme, k)) || (task && !task_option_applies(task->kind, k)) ||
           (data && !data_option_applies(data->format, k));
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
  void path(const char* k, Paths& v, const Spec&) {
    if (skip(k)) return;
    key(k);
    if (v.items.size() <= 1) {
      out << YAML::DoubleQuoted << v.single();
      return;
    }
    out << YAML::Flow << YAML::BeginSeq;
    for (const auto& item : v.items) out << YAML::DoubleQuoted << item;
    out << YAML::EndSeq;
  }
  void field(const char* k, std::vector<int64_t>& v, const Spec&) {
    if (skip(k)) return;
    key(k);
    out << YAML::Flow << v;
  }
  void field(const char* k, std::vector<std::string>& v, const Spec&) {
    if (skip(k)) return;
    key(k);
    out << YAML::Flow << YAML::BeginSeq;
    for (const auto& item : v) out << YAML::DoubleQuoted << item;
    out << YAML::EndSeq;
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
    if (skip(k)) return;
    key(k);
    out << YAML::BeginMap;
    const auto outer = std::make_tuple(position, task, data);  // the section's own keys are judged by it alone
    position = nullptr, task = nullptr, data = nullptr;
    if constexpr (std::is_same_v<S, PositionConfig>) position = &sub;
    if constexpr (std::is_same_v<S, TaskConfig>) task = &sub;
    if constexpr (std::is_same_v<S, DataConfig>) data = &sub;
    sub.visit(*this);
    std::tie(position, task, data) = outer;
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
