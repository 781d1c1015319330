// Expanding files, folders and globs into files.
#include "transformer/util/expand_paths.h"

#include <glob.h>

#include <algorithm>
#include <filesystem>
#include <system_error>

namespace qkv {

namespace fs = std::filesystem;

namespace {

bool hidden(const fs::path& p) {
  for (const auto& part : p)
    if (part.string().size() > 1 && part.string()[0] == '.' && part.string() != "..") return true;
  return false;
}

void add_folder(const fs::path& root, std::vector<std::string>& out) {
  std::vector<std::string> files;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::follow_directory_symlink, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    if (it->is_regular_file(ec) && !hidden(fs::relative(it->path(), root, ec))) files.push_back(it->path().string());
  }
  std::sort(files.begin(), files.end());
  out.insert(out.end(), files.begin(), files.end());
}

}  // namespace

bool is_glob(const std::string& item) { return item.find_first_of("*?[") != std::string::npos; }

ExpandedPaths expand_paths(const std::vector<std::string>& items) {
  ExpandedPaths out;
  for (const auto& item : items) {
    const size_t before = out.files.size();
    std::error_code ec;
    if (is_glob(item)) {
      glob_t matches{};
      if (::glob(item.c_str(), 0, nullptr, &matches) == 0) {
        std::vector<std::string> found;
        for (size_t i = 0; i < matches.gl_pathc; ++i) {
          const fs::path p(matches.gl_pathv[i]);
          if (fs::is_directory(p, ec)) add_folder(p, found);
          else if (fs::is_regular_file(p, ec)) found.push_back(p.string());
        }
        std::sort(found.begin(), found.end());
        out.files.insert(out.files.end(), found.begin(), found.end());
      }
      globfree(&matches);
      if (out.files.size() == before) out.problem = "no file matches " + item;
    } else if (fs::is_directory(item, ec)) {
      add_folder(item, out.files);
      if (out.files.size() == before) out.problem = "no file in the folder " + item;
    } else if (fs::is_regular_file(item, ec)) {
      out.files.push_back(item);
    } else {
      out.problem = "file not found: " + item;
    }
    if (!out.problem.empty()) return out;
  }
  return out;
}

}  // namespace qkv
