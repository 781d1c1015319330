// Shared test helpers: small model configurations over every position scheme, a scratch
// directory, and running the qkv binary.
#pragma once

#include <torch/torch.h>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "transformer/config/config.h"
#include "transformer/models/model.h"

namespace qkv::test {

// Every registered position scheme (config/position_schemes.def), so a new one is in every test
// that runs over all of them.
inline const std::vector<std::string>& all_schemes() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> all;
    for (const PositionSchemeSpec* spec : position_schemes()) all.push_back(spec->name);
    return all;
  }();
  return names;
}

inline ModelConfig small_config(Family family, const std::string& scheme) {
  ModelConfig c;
  c.family = family;
  c.layers = 2;
  c.d_model = 32;
  c.heads = 4;
  c.d_ff = 64;
  c.dropout = 0.0;
  c.max_len = 64;
  c.position.scheme = scheme;
  c.position.set("clip", 4);
  c.position.set("buckets", 8);
  c.position.set("max_distance", 16);
  c.position.set("fraction", scheme == "rope" ? 0.5 : 1.0);
  return c;
}

inline Model small_model(Family family, const std::string& scheme, int64_t vocab = 50, uint64_t seed = 7) {
  torch::manual_seed(seed);
  auto model = make_model(small_config(family, scheme), vocab, seed);
  model->eval();
  return model;
}

// A fresh directory under the system temp dir, removed when the object goes.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& name) {
    path_ = std::filesystem::temp_directory_path() / ("qkv-test-" + name + "-" + std::to_string(::getpid()));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() { std::filesystem::remove_all(path_); }
  std::string operator/(const std::string& child) const { return (path_ / child).string(); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// Runs a shell command from the source directory, collecting stdout and stderr.
inline CommandResult run_shell(const std::string& script) {
  const std::string command = std::string("cd '") + QKV_SOURCE_DIR + "' && { " + script + "\n} 2>&1";
  CommandResult result;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) return result;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0) result.output.append(buffer, n);
  const int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

struct MeasuredResult {
  int exit_code = -1;
  std::string output;     // stdout and stderr together
  double seconds = 0;     // wall clock
  double peak_mib = 0;    // peak resident memory of the process
};

// Runs build/qkv with exactly these arguments (no shell) from the source directory, measuring its
// wall time and peak resident memory.
inline MeasuredResult run_measured(const std::vector<std::string>& args) {
  int fds[2];
  MeasuredResult result;
  if (::pipe(fds) != 0) return result;
  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(fds[1], 1);
    ::dup2(fds[1], 2);
    ::close(fds[0]);
    ::close(fds[1]);
    if (::chdir(QKV_SOURCE_DIR) != 0) ::_exit(126);
    std::vector<char*> argv{const_cast<char*>(QKV_BINARY)};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(QKV_BINARY, argv.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  char buffer[4096];
  ssize_t n;
  while ((n = ::read(fds[0], buffer, sizeof(buffer))) > 0) result.output.append(buffer, size_t(n));
  ::close(fds[0]);
  int status = 0;
  rusage usage{};
  ::wait4(pid, &status, 0, &usage);
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  result.peak_mib = double(usage.ru_maxrss) / 1024.0;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

// Runs build/qkv with `args` from the source directory.
inline CommandResult run_qkv(const std::string& args) { return run_shell("'" + std::string(QKV_BINARY) + "' " + args); }

inline std::string source_path(const std::string& relative) { return std::string(QKV_SOURCE_DIR) + "/" + relative; }

}  // namespace qkv::test
