// Position schemes as the configuration sees them, without LibTorch: each scheme's descriptor
// (its name, the options it owns under model.position with their defaults, bounds and
// documentation, where it acts in the attention core, what it needs, and its own rules), the
// registry of descriptors, and the model.position section that reads them.
//
// A scheme is one file, core/position_NAME.cpp, holding its descriptor (compiled into the
// torch-free qkv_config as well) and its module; config/position_schemes.def registers it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "transformer/config/choices.h"

namespace qkv {

// The scheme that adds no position information (the model then sees a bag of tokens, unless it is
// causal: Haviv et al. 2022). Also the default of model.position.scheme.
inline constexpr const char* kNoPositionScheme = "none";

// RoPE's context-extension methods, the values of model.position.scaling (core/position_rope.cpp).
enum RopeScaling : int64_t { kRopeUnscaled = 0, kRopeLinear, kRopeNtk, kRopeDynamic, kRopeYarn };

// Where a scheme acts in the attention core (core/position.h), as bit flags.
enum PositionAct : unsigned {
  kActsNowhere = 0,
  kAddsToEmbeddings = 1u << 0,  // absolute: added to the token embeddings
  kRotatesQueryKey = 1u << 1,   // q and k rotated before the dot product
  kBiasesScores = 1u << 2,      // a term added to the attention logits
  kAddsValueTerm = 1u << 3,     // a value-side term after the softmax (Shaw's relative values)
};
std::string position_act_names(unsigned acts);  // "embed, rotate", "nothing"

// One option a scheme owns under model.position.
struct PositionOption {
  const char* key;
  double value;  // the default
  double min, max;
  bool integer;
  const char* doc;
  // An option that names one of several methods: its integer value indexes these names, and
  // experiment files spell it by name (rope's scaling: none|linear|...). Null for numbers.
  const Choices<int64_t>* names = nullptr;
};

struct PositionConfig;

// A rule of a scheme broken by a configuration: the option to blame and what is wrong.
struct PositionProblem {
  std::string key;  // under model.position, e.g. "fraction"
  std::string message;
  bool found() const { return !message.empty(); }
};

struct PositionSchemeSpec {
  const char* name;
  const char* summary;  // one line: what the scheme is, with its paper
  std::vector<PositionOption> options;
  unsigned acts = kActsNowhere;    // PositionAct flags
  bool relative = false;           // depends on relative positions only (shift-invariant scores)
  bool bounded_by_max_len = false;  // represents at most model.max_len positions
  // The scheme's own rules beyond each option's bounds, given its options and the head dim.
  std::function<PositionProblem(const PositionConfig& position, int64_t head_dim)> check;
};

// The registered schemes in the order of config/position_schemes.def.
const std::vector<const PositionSchemeSpec*>& position_schemes();
// The scheme of that name; nullptr when there is none.
const PositionSchemeSpec* find_position_scheme(const std::string& name);
// Options of model.position that apply to every scheme: `randomize` (Ruoss et al. 2023, trained
// at a sorted random sample of positions from a larger range; core/randomized_positions.cpp).
const std::vector<PositionOption>& position_common_options();
// Every option key: the common ones, then each scheme's, once each (the first scheme to declare a
// key defines it).
const std::vector<const PositionOption*>& position_options();
// Whether a key of model.position applies to a scheme ("scheme" and the common options apply to
// all), and the schemes that own a key, for messages ("t5").
bool position_option_applies(const std::string& scheme, const std::string& key);
std::string position_option_owners(const std::string& key);
// Scheme names as experiment files spell them, for reading model.position.scheme.
const Choices<std::string>& position_choices();
const char* position_choices_doc();  // "none|sinusoidal|..."

// The model.position section: the scheme's name and the values of every registered option,
// defaults filled in; each scheme reads only its own.
struct PositionConfig {
  std::string scheme = kNoPositionScheme;
  std::map<std::string, int64_t> integers;
  std::map<std::string, double> reals;

  PositionConfig();
  double value(const std::string& key) const;   // any option, as a number
  int64_t integer(const std::string& key) const;
  void set(const std::string& key, double value);  // tests and tools
  const PositionSchemeSpec& spec() const;          // of `scheme`, which reading has checked

  template <class V>
  void visit(V& v) {
    v.choice("scheme", scheme, position_choices(), Spec().need().doc(position_choices_doc()));
    for (const PositionOption* option : position_options()) {
      const Spec spec = Spec().range(option->min, option->max).doc(option->doc);
      if (option->names) {
        v.choice(option->key, integers[option->key], *option->names, Spec().doc(option->doc));
      } else if (option->integer) {
        v.field(option->key, integers[option->key], spec);
      } else {
        v.field(option->key, reals[option->key], spec);
      }
    }
  }
};

}  // namespace qkv
