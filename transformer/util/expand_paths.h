// Paths as users give sources: files, folders (every regular file below, hidden ones left out)
// and globs (glob(3)), expanded into files in a fixed order: the items in the order given, each
// folder's and glob's files sorted by path.
#pragma once

#include <string>
#include <vector>

namespace qkv {

struct ExpandedPaths {
  std::vector<std::string> files;
  std::string problem;  // empty, or the item that names nothing and why ("no file matches data/*.gz")
};

ExpandedPaths expand_paths(const std::vector<std::string>& items);

// Whether an item holds glob characters (*, ?, [).
bool is_glob(const std::string& item);

}  // namespace qkv
