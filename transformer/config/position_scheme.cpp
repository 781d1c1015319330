// The registry of position-scheme descriptors and the model.position section.
#include "transformer/config/position_scheme.h"

#include <stdexcept>

namespace qkv {

// Each scheme's descriptor, defined in its core/position_NAME.cpp.
#define QKV_POSITION_SCHEME(name) const PositionSchemeSpec& name##_position_spec();
#include "transformer/config/position_schemes.def"
#undef QKV_POSITION_SCHEME

const std::vector<const PositionSchemeSpec*>& position_schemes() {
  static const std::vector<const PositionSchemeSpec*> all{
#define QKV_POSITION_SCHEME(name) &name##_position_spec(),
#include "transformer/config/position_schemes.def"
#undef QKV_POSITION_SCHEME
  };
  return all;
}

const PositionSchemeSpec* find_position_scheme(const std::string& name) {
  for (const PositionSchemeSpec* spec : position_schemes())
    if (name == spec->name) return spec;
  return nullptr;
}

const std::vector<PositionOption>& position_common_options() {
  static const std::vector<PositionOption> common{
      {"randomize", 0, 0, 1 << 24, /*integer=*/true,
       "any scheme: each batch takes a sorted random sample of distinct positions from [0, randomize) "
       "instead of 0..T-1, in training and evaluation (Ruoss et al. 2023); cached decoding reads 0..T-1; 0: off"}};
  return common;
}

const std::vector<const PositionOption*>& position_options() {
  static const std::vector<const PositionOption*> all = [] {
    std::vector<const PositionOption*> options;
    for (const PositionOption& option : position_common_options()) options.push_back(&option);
    for (const PositionSchemeSpec* spec : position_schemes())
      for (const PositionOption& option : spec->options) {
        bool known = false;
        for (const PositionOption* o : options) known = known || std::string(o->key) == option.key;
        if (!known) options.push_back(&option);
      }
    return options;
  }();
  return all;
}

bool position_option_applies(const std::string& scheme, const std::string& key) {
  if (key == "scheme") return true;
  for (const PositionOption& option : position_common_options())
    if (key == option.key) return true;
  const PositionSchemeSpec* spec = find_position_scheme(scheme);
  if (!spec) return false;
  for (const PositionOption& option : spec->options)
    if (key == option.key) return true;
  return false;
}

std::string position_option_owners(const std::string& key) {
  std::string owners;
  for (const PositionSchemeSpec* spec : position_schemes())
    if (position_option_applies(spec->name, key)) owners += (owners.empty() ? "" : ", ") + std::string(spec->name);
  return owners;
}

const Choices<std::string>& position_choices() {
  static const Choices<std::string> choices = [] {
    Choices<std::string> c;
    for (const PositionSchemeSpec* spec : position_schemes()) c.emplace_back(spec->name, spec->name);
    return c;
  }();
  return choices;
}

const char* position_choices_doc() {
  static const std::string doc = [] {
    std::string names;
    for (const PositionSchemeSpec* spec : position_schemes()) names += (names.empty() ? "" : "|") + std::string(spec->name);
    return names;
  }();
  return doc.c_str();
}

std::string position_act_names(unsigned acts) {
  std::string names;
  for (const auto& [flag, name] : {std::pair<unsigned, const char*>{kAddsToEmbeddings, "embed"},
                                   {kRotatesQueryKey, "rotate"},
                                   {kBiasesScores, "score bias"},
                                   {kAddsValueTerm, "value term"}})
    if (acts & flag) names += (names.empty() ? "" : ", ") + std::string(name);
  return names.empty() ? "nothing" : names;
}

PositionConfig::PositionConfig() {
  for (const PositionOption* option : position_options()) {
    if (option->integer) {
      integers[option->key] = int64_t(option->value);
    } else {
      reals[option->key] = option->value;
    }
  }
}

double PositionConfig::value(const std::string& key) const {
  if (auto it = integers.find(key); it != integers.end()) return double(it->second);
  if (auto it = reals.find(key); it != reals.end()) return it->second;
  throw std::logic_error("no position option " + key);
}

int64_t PositionConfig::integer(const std::string& key) const {
  if (auto it = integers.find(key); it != integers.end()) return it->second;
  throw std::logic_error("no integer position option " + key);
}

void PositionConfig::set(const std::string& key, double v) {
  if (auto it = integers.find(key); it != integers.end()) {
    it->second = int64_t(v);
  } else if (auto it = reals.find(key); it != reals.end()) {
    it->second = v;
  } else {
    throw std::logic_error("no position option " + key);
  }
}

const PositionSchemeSpec& PositionConfig::spec() const {
  const PositionSchemeSpec* found = find_position_scheme(scheme);
  if (!found) throw std::logic_error("unknown position scheme " + scheme);
  return *found;
}

}  // namespace qkv
