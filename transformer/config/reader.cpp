// Reads experiment files with yaml-cpp into the typed structs of config.h, applying --set
// overrides first; every error names file:line:col and the dotted key.
#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "transformer/config/experiment.h"
#include "transformer/util/errors.h"

namespace qkv {

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

std::string ConfigSources::locate(const std::string& dotted) const {
  for (std::string key = dotted;;) {
    auto it = where.find(key);
    if (it != where.end()) return it->second;
    const auto dot = key.rfind('.');
    if (dot == std::string::npos) return file;
    key.resize(dot);
  }
}

namespace {

struct Context {
  ConfigSources* sources;
  std::map<std::string, std::string> overrides;  // dotted key -> "--set key=value"
};

std::string join(const std::string& prefix, const char* key) { return prefix.empty() ? key : prefix + "." + key; }

std::string describe(const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) return "nothing";
  if (node.IsMap()) return "a mapping";
  if (node.IsSequence()) return "a list";
  return fmt::format("'{}'", node.Scalar());
}

std::string location(const Context& ctx, const std::string& dotted, const YAML::Mark& mark) {
  auto exact = ctx.overrides.find(dotted);
  if (exact != ctx.overrides.end()) return exact->second;
  for (const auto& [key, arg] : ctx.overrides)  // a section created by --set
    if (key.rfind(dotted + ".", 0) == 0 && mark.is_null()) return arg;
  if (mark.is_null()) return ctx.sources->file;
  return fmt::format("{}:{}:{}", ctx.sources->file, mark.line + 1, mark.column + 1);
}

[[noreturn]] void fail(const std::string& where, const std::string& dotted, const std::string& message) {
  throw InputError(fmt::format("{}: {}: {}", where, dotted, message));
}

std::string range_text(const Spec& spec, bool integer) {
  auto num = [&](double x) { return integer ? fmt::format("{}", int64_t(x)) : fmt::format("{}", x); };
  const bool lo = spec.min > -1e299, hi = spec.max < 1e299;
  if (lo && hi) return fmt::format(" in [{}, {}]", num(spec.min), num(spec.max));
  if (lo) return fmt::format(" >= {}", num(spec.min));
  if (hi) return fmt::format(" <= {}", num(spec.max));
  return "";
}

// Collects the field names of a section, for unknown-key checks and suggestions.
struct NameCollector {
  std::vector<std::string> names;
  template <class T>
  void field(const char* key, T&, const Spec&) { names.push_back(key); }
  template <class T>
  void path(const char* key, T&, const Spec&) { names.push_back(key); }
  template <class E>
  void choice(const char* key, E&, const Choices<E>&, const Spec&) { names.push_back(key); }
  template <class S>
  void section(const char* key, S&, const Spec&) { names.push_back(key); }
};

std::string suggestion(const std::string& key, const std::vector<std::string>& names) {
  std::string best;
  size_t best_distance = 3;
  for (const auto& name : names) {
    const size_t d = edit_distance(key, name);
    if (d < best_distance && d <= std::max<size_t>(1, name.size() / 3)) best = name, best_distance = d;
  }
  if (!best.empty()) return fmt::format("unknown key; did you mean '{}'?", best);
  std::string all;
  for (const auto& name : names) all += (all.empty() ? "" : ", ") + name;
  return fmt::format("unknown key; expected one of: {}", all);
}

class Reader {
 public:
  Reader(YAML::Node map, std::string prefix, Context& ctx) : map_(std::move(map)), prefix_(std::move(prefix)), ctx_(ctx) {}

  template <class S>
  void check_keys(S& section) {
    NameCollector collector;
    section.visit(collector);
    std::map<std::string, int> seen;
    for (auto it = map_.begin(); it != map_.end(); ++it) {
      const YAML::Node& key_node = it->first;
      const std::string key = key_node.IsScalar() ? key_node.Scalar() : describe(key_node);
      const std::string dotted = join(prefix_, key.c_str());
      const std::string where = location(ctx_, dotted, key_node.Mark());
      if (!key_node.IsScalar()) fail(where, prefix_.empty() ? "(top level)" : prefix_, "keys must be plain names");
      auto [previous, fresh] = seen.emplace(key, key_node.Mark().line + 1);
      if (!fresh) fail(where, dotted, fmt::format("duplicate key (first given on line {})", previous->second));
      if (std::find(collector.names.begin(), collector.names.end(), key) == collector.names.end()) {
        fail(where, dotted, suggestion(key, collector.names));
      }
      ctx_.sources->where[dotted] = where;
      ctx_.sources->given.insert(dotted);
    }
  }

  template <class T>
  void field(const char* key, T& value, const Spec& spec) {
    YAML::Node node;
    if (!lookup(key, spec, node)) return;
    read(node, value, spec, join(prefix_, key));
  }

  void path(const char* key, std::string& value, const Spec& spec) { field(key, value, spec); }
  void path(const char* key, Paths& value, const Spec& spec) { field(key, value, spec); }

  template <class E>
  void choice(const char* key, E& value, const Choices<E>& choices, const Spec& spec) {
    YAML::Node node;
    if (!lookup(key, spec, node)) return;
    const std::string dotted = join(prefix_, key);
    std::string names;
    for (const auto& [name, v] : choices) names += (names.empty() ? "" : "|") + std::string(name);
    if (!node.IsScalar()) fail(where(dotted, node), dotted, fmt::format("expected one of {}, found {}", names, describe(node)));
    std::vector<std::string> all;
    for (const auto& [name, v] : choices) {
      if (node.Scalar() == name) {
        value = v;
        return;
      }
      all.push_back(name);
    }
    std::string message = fmt::format("expected one of {}, found {}", names, describe(node));
    for (const auto& name : all)
      if (edit_distance(node.Scalar(), name) <= std::max<size_t>(1, name.size() / 3)) {
        message += fmt::format("; did you mean '{}'?", name);
        break;
      }
    fail(where(dotted, node), dotted, message);
  }

  template <class S>
  void section(const char* key, S& sub, const Spec& spec) {
    YAML::Node node;
    if (!lookup(key, spec, node)) return;
    const std::string dotted = join(prefix_, key);
    if (node.IsNull()) {
      if (spec.required) fail(where(dotted, node), dotted, "required section is empty");
      return;
    }
    if (!node.IsMap()) fail(where(dotted, node), dotted, fmt::format("expected a section (a mapping), found {}", describe(node)));
    Reader child(node, dotted, ctx_);
    child.check_keys(sub);
    sub.visit(child);
  }

 private:
  std::string where(const std::string& dotted, const YAML::Node& node) const {
    return location(ctx_, dotted, node.Mark());
  }

  bool lookup(const char* key, const Spec& spec, YAML::Node& out) {
    const YAML::Node& map = map_;
    YAML::Node node = map[key];
    if (!node.IsDefined()) {
      if (spec.required) {
        const std::string dotted = join(prefix_, key);
        fail(prefix_.empty() ? location(ctx_, "", map_.Mark()) : ctx_.sources->locate(prefix_), dotted,
             prefix_.empty() ? "required field is missing" : fmt::format("required field is missing from {}", prefix_));
      }
      return false;
    }
    out = node;
    return true;
  }

  void read(const YAML::Node& node, int64_t& value, const Spec& spec, const std::string& dotted) {
    int64_t v = 0;
    if (!node.IsScalar() || !YAML::convert<int64_t>::decode(node, v)) {
      fail(where(dotted, node), dotted, fmt::format("expected an integer{}, found {}", range_text(spec, true), describe(node)));
    }
    if (double(v) < spec.min || double(v) > spec.max) {
      fail(where(dotted, node), dotted, fmt::format("expected an integer{}, found {}", range_text(spec, true), v));
    }
    value = v;
  }

  void read(const YAML::Node& node, double& value, const Spec& spec, const std::string& dotted) {
    double v = 0;
    if (!node.IsScalar() || !YAML::convert<double>::decode(node, v) || !std::isfinite(v)) {
      fail(where(dotted, node), dotted, fmt::format("expected a number{}, found {}", range_text(spec, false), describe(node)));
    }
    if (v < spec.min || v > spec.max) {
      fail(where(dotted, node), dotted, fmt::format("expected a number{}, found {}", range_text(spec, false), v));
    }
    value = v;
  }

  void read(const YAML::Node& node, bool& value, const Spec&, const std::string& dotted) {
    if (!node.IsScalar() || !YAML::convert<bool>::decode(node, value)) {
      fail(where(dotted, node), dotted, fmt::format("expected true or false, found {}", describe(node)));
    }
  }

  void read(const YAML::Node& node, std::string& value, const Spec& spec, const std::string& dotted) {
    if (node.IsNull() && !spec.required) return;
    if (!node.IsScalar() || (spec.required && node.Scalar().empty())) {
      fail(where(dotted, node), dotted, fmt::format("expected a string, found {}", describe(node)));
    }
    value = node.Scalar();
  }

  void read(const YAML::Node& node, std::vector<int64_t>& value, const Spec& spec, const std::string& dotted) {
    if (!node.IsSequence()) fail(where(dotted, node), dotted, fmt::format("expected a list of integers, found {}", describe(node)));
    value.clear();
    for (size_t i = 0; i < node.size(); ++i) {
      int64_t item = 0;
      read(node[i], item, spec, fmt::format("{}[{}]", dotted, i));
      value.push_back(item);
    }
  }

  void read(const YAML::Node& node, std::vector<std::string>& value, const Spec&, const std::string& dotted) {
    if (!node.IsSequence()) fail(where(dotted, node), dotted, fmt::format("expected a list of strings, found {}", describe(node)));
    value.clear();
    for (size_t i = 0; i < node.size(); ++i) {
      if (!node[i].IsScalar()) {
        fail(where(dotted, node[i]), fmt::format("{}[{}]", dotted, i), fmt::format("expected a string, found {}", describe(node[i])));
      }
      value.push_back(node[i].Scalar());
    }
  }

  // A path, or a list of paths: files, folders or globs.
  void read(const YAML::Node& node, Paths& value, const Spec& spec, const std::string& dotted) {
    value = Paths();
    if (node.IsNull()) return;
    if (node.IsScalar()) {
      value = Paths(node.Scalar());
      return;
    }
    if (!node.IsSequence()) fail(where(dotted, node), dotted, fmt::format("expected a path or a list of paths, found {}", describe(node)));
    for (size_t i = 0; i < node.size(); ++i) {
      if (!node[i].IsScalar() || node[i].Scalar().empty()) {
        fail(where(dotted, node[i]), fmt::format("{}[{}]", dotted, i), fmt::format("expected a path, found {}", describe(node[i])));
      }
      value.items.push_back(node[i].Scalar());
    }
  }

  void read(const YAML::Node& node, Grid& value, const Spec&, const std::string& dotted) {
    if (!node.IsMap()) fail(where(dotted, node), dotted, fmt::format("expected a mapping of dotted.key: [values], found {}", describe(node)));
    value.clear();
    for (auto it = node.begin(); it != node.end(); ++it) {
      const std::string key = it->first.Scalar();
      const std::string item = dotted + "." + key;
      if (!it->second.IsSequence() || it->second.size() == 0) {
        fail(where(item, it->second), item, fmt::format("expected a non-empty list of values, found {}", describe(it->second)));
      }
      std::vector<std::string> values;
      for (size_t i = 0; i < it->second.size(); ++i) {
        const YAML::Node& v = it->second[i];
        if (!v.IsScalar()) fail(where(item, v), item, fmt::format("expected plain values, found {}", describe(v)));
        values.push_back(v.Scalar());
      }
      value.emplace_back(key, values);
    }
  }

  YAML::Node map_;
  std::string prefix_;
  Context& ctx_;
};

// Applies one "dotted.key=value" to the document; the value is parsed as YAML.
void apply_override(YAML::Node& root, const std::string& arg, Context& ctx) {
  const std::string where = "--set " + arg;
  const auto eq = arg.find('=');
  if (eq == std::string::npos || eq == 0) throw InputError(fmt::format("{}: expected --set dotted.key=value", where));
  const std::string key = arg.substr(0, eq);
  YAML::Node value;
  try {
    value = YAML::Load(arg.substr(eq + 1));
  } catch (const YAML::Exception& e) {
    throw InputError(fmt::format("{}: {}: value is not valid YAML: {}", where, key, e.msg));
  }
  std::vector<std::string> parts;
  std::stringstream stream(key);
  for (std::string part; std::getline(stream, part, '.');) {
    if (part.empty()) throw InputError(fmt::format("{}: {}: empty part in the dotted key", where, key));
    parts.push_back(part);
  }
  YAML::Node current = root;
  std::string dotted;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    dotted = dotted.empty() ? parts[i] : dotted + "." + parts[i];
    YAML::Node next = current[parts[i]];
    if (!next.IsDefined() || next.IsNull()) {
      next = YAML::Node(YAML::NodeType::Map);
      current[parts[i]] = next;
    } else if (!next.IsMap()) {
      throw InputError(fmt::format("{}: {}: is a value, not a section", where, dotted));
    }
    current.reset(next);
  }
  current[parts.back()] = value;
  ctx.overrides[key] = where;
}

}  // namespace

LoadedExperiment parse_experiment(const std::string& text, const std::string& name,
                                  const std::vector<std::string>& overrides, const ValidateOptions& options) {
  LoadedExperiment loaded;
  loaded.sources.file = name;
  Context ctx{&loaded.sources, {}};
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::DeepRecursion& e) {
    // yaml-cpp's depth guard; its own message says "bad file".
    throw InputError(fmt::format("{}:{}:{}: (document): nesting deeper than {} levels", name, e.mark.line + 1,
                                 e.mark.column + 1, e.depth()));
  } catch (const YAML::ParserException& e) {
    throw InputError(fmt::format("{}:{}:{}: {}", name, e.mark.line + 1, e.mark.column + 1, e.msg));
  } catch (const YAML::Exception& e) {
    throw InputError(fmt::format("{}: {}", name, e.msg));
  }
  if (root.IsDefined() && !root.IsNull() && !root.IsMap()) {
    throw InputError(fmt::format("{}:1:1: (top level): expected a mapping of sections, found {}", name, describe(root)));
  }
  if (!root.IsDefined() || root.IsNull()) throw InputError(fmt::format("{}:1:1: (top level): the experiment file is empty", name));
  for (const auto& arg : overrides) apply_override(root, arg, ctx);

  Experiment& experiment = loaded.experiment;
  experiment.source_file = name;
  Reader reader(root, "", ctx);
  reader.check_keys(experiment);
  experiment.visit(reader);
  if (experiment.output.empty()) experiment.output = "runs/" + experiment.name;
  resolve(experiment, loaded.sources);
  validate(experiment, loaded.sources, options);
  return loaded;
}

LoadedExperiment load_experiment(const std::string& path, const std::vector<std::string>& overrides,
                                 const ValidateOptions& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(fmt::format("{}: cannot open the experiment file", path));
  std::stringstream text;
  text << in.rdbuf();
  return parse_experiment(text.str(), path, overrides, options);
}

}  // namespace qkv
