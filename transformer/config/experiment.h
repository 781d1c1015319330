// Reading, validating and writing experiment files. Errors are InputErrors of the form
// `file:line:col: dotted.key: what was expected, what was found`.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "transformer/config/config.h"

namespace qkv {

// Where each key of an experiment came from: "file:line:col", or "--set key=value".
struct ConfigSources {
  std::string file;
  std::map<std::string, std::string> where;  // dotted key -> location, for every key present
  std::set<std::string> given;               // dotted keys written in the file or set by --set
  std::string locate(const std::string& dotted) const;  // nearest enclosing key's location
};

struct LoadedExperiment {
  Experiment experiment;
  ConfigSources sources;
};

struct ValidateOptions {
  bool require_data = true;  // data files must exist (train, eval); info and generate need none
};

// Reads `path`, applies `overrides` ("dotted.key=value"), fills defaults and runs validate().
LoadedExperiment load_experiment(const std::string& path, const std::vector<std::string>& overrides,
                                 const ValidateOptions& options = {});
// Same, from text already in memory; `name` stands for the file in messages.
LoadedExperiment parse_experiment(const std::string& text, const std::string& name,
                                  const std::vector<std::string>& overrides, const ValidateOptions& options = {});

// Fills what other keys determine: a format's own label names when task.labels is not given, and
// model.num_classes from the task (InputError when it was given and disagrees).
void resolve(Experiment& experiment, const ConfigSources& sources);

// Cross-field rules; throws InputError naming the offending key's location.
void validate(const Experiment& experiment, const ConfigSources& sources, const ValidateOptions& options);

// The resolved experiment as YAML, every field written, which load_experiment reads back.
std::string to_yaml(const Experiment& experiment);

// Levenshtein distance, for did-you-mean suggestions.
size_t edit_distance(const std::string& a, const std::string& b);

}  // namespace qkv
